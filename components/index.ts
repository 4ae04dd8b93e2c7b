// The building blocks of an Istio mesh whose identities come from SPIRE, each usable on its own.

// The stack's configuration contract, its Kubernetes provider, and the checks and helpers every component shares.
export * from "./config";
export * from "./kubernetes";
export * from "./validation";
export * from "./values";

// The mesh's core: SPIRE, its registrations and federation, and Istio on SPIRE's identities.
export * from "./mesh/crds";
export * from "./mesh/federation";
export * from "./mesh/installation";
export * from "./mesh/istio";
export * from "./mesh/istioOperator";
export * from "./mesh/istioResources";
export * from "./mesh/registration";
export * from "./mesh/spiffeBundle";
export * from "./mesh/spire";

// Add-ons: Prometheus, Kiali and Grafana.
export * from "./addons/observability";

// The runbooks' samples and the federated call between clusters.
export * from "./samples/federatedCall";
export * from "./samples/peerSamples";
export * from "./samples/samples";
