// The runbooks' samples and the federated call between clusters (the package's `istio-spire/samples` entry point).

export * from "./federatedCall";
export * from "./peerSamples";
export * from "./samples";
// Checks the samples use, which live with the shared validators (../validation.ts) and are exported here too, as they
// were before they moved there.
export { checkHostname, checkPinnedImage, checkPort, checkWorkloadSpiffeId } from "../validation";
