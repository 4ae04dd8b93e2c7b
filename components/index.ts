// The building blocks of an Istio mesh whose identities come from SPIRE, each usable on its own: this file is the
// package's main entry point (`import { Spire } from "istio-spire"`, see package.json `exports`), and the stack
// program's (index.ts).

// The shared base: the stack's Kubernetes provider, and the checks and helpers every component shares.
export * from "./kubernetes";
export * from "./validation";
export * from "./values";
export * from "./versions";

// The mesh's core: SPIRE, its registrations and federation, and Istio on SPIRE's identities.
export * from "./mesh";

// Add-ons: Prometheus, Kiali and Grafana.
export * from "./addons";

// The runbooks' samples and the federated call between clusters.
export * from "./samples";

// The stack's configuration contract, above the areas: it reads the settings of all of them.
export * from "./stack/config";
