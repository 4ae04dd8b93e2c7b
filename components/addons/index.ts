// Add-ons: Prometheus, Kiali and Grafana, and SPIRE's monitoring in them (the package's `istio-spire/addons` entry point).

export * from "./observability";
export * from "./spireAlerts";
export * from "./spireDashboard";
