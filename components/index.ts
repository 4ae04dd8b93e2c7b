// The building blocks of an Istio mesh whose identities come from SPIRE, each usable on its own.
export * from "./config";
export * from "./crds";
export * from "./federatedCall";
export * from "./federation";
export * from "./installation";
export * from "./istio";
export * from "./istioOperator";
export * from "./istioResources";
export * from "./kubernetes";
export * from "./observability";
export * from "./peerSamples";
export * from "./registration";
export * from "./samples";
export * from "./spiffeBundle";
export * from "./spire";
export * from "./validation";
export * from "./values";
