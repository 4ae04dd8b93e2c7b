// The runbooks' samples and the federated call between clusters (the package's `istio-spire/samples` entry point).

export * from "./federatedCall";
export * from "./peerSamples";
export * from "./samples";
