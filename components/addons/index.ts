// Add-ons: Prometheus, Kiali and Grafana (the package's `istio-spire/addons` entry point).

export * from "./observability";
