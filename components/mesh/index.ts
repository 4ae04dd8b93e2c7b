// The mesh's core: SPIRE, its registrations and federation, and Istio on SPIRE's identities
// (the package's `istio-spire/mesh` entry point).

export * from "./crds";
export * from "./federation";
export * from "./installation";
export * from "./istio";
export * from "./istioOperator";
export * from "./istioResources";
export * from "./registration";
export * from "./spiffeBundle";
export * from "./spire";
export * from "./spireChange";
export * from "./spireDataStore";
export * from "./spireUpstream";
