// istio-spire: one stack per Kubernetes cluster. SPIRE issues every workload identity, Istio consumes them through
// Envoy SDS, workloads are registered declaratively, and SPIRE federates with the peer stacks named in config.
//
//   config ─► the stack's Kubernetes provider (kubernetes:context), the only one: every component gets it
//         ─► peers (StackReferences, validated)
//         ─► the identity plane's changes since the last deployment (refused unless acknowledged)
//         ─► the spire chart's change since the last deployment (`versions`: one minor at a time, never down)
//         ─► Spire (servers, datastore, upstream authority; exported as `spireServer`)
//                   ─► BundleEndpoint (exported as `federation`)
//                   ─► FederatedTrustDomain per ready peer (ClusterFederatedTrustDomain)
//                   ─► WorkloadRegistration (ClusterSPIFFEIDs, federatesWith the peers)
//                   ─► IstioMesh (base, istiod, gateway from one IstioOperator)
//                   ─► Observability (optional: Prometheus, Kiali, Grafana)
//                   ─► samples (optional) and the federated call to/from peers' samples

import * as pulumi from "@pulumi/pulumi";
import {
    BOOKINFO_URI_MATCHES,
    MANIFEST_DEFAULT_NAMESPACE,
    Bookinfo,
    BundleEndpoint,
    CurlGreeter,
    FEDERATED_GATEWAY_PORT,
    FederatedServiceAccess,
    FederatedServiceClient,
    FederatedTrustDomain,
    IstioMesh,
    resolveRevision,
    Observability,
    SleepHttpbin,
    Spire,
    ValidationError,
    WorkloadRegistration,
    PEER_SAMPLES,
    PROJECT_NAME,
    SPIRE_SERVER_OUTPUT,
    VERSIONS_OUTPUT,
    bookinfoHost,
    buildIstioOperator,
    checkIdentityPlaneChange,
    checkSpireChartUpgrade,
    deployedVersions,
    loadSecretConfig,
    loadStackConfig,
    readPeers,
    readPreviousDeployment,
    stackKubernetesProvider,
} from "./components";

export = async () => {
    // 1. Configuration and peer stacks' exports, validated before any Kubernetes resource is declared.
    const config = await failOnValidationError(loadStackConfig);
    // Each peer's federation is judged by the mesh, its samples export by the samples area's check (PEER_SAMPLES).
    const peers = await failOnValidationError(() => readPeers(config.trustDomain, config.peers, PEER_SAMPLES));
    const peerTrustDomains = peers.ready.map((p) => p.federation.trustDomain).sort();
    // What this stack exported last time: the bundle and CA lineage its installation id is derived from, and the
    // identity plane (datastore, upstream authority) it ran on.
    const previousDeployment = await readPreviousDeployment();
    // The spire charts move one minor at a time, never down: refused against the versions the last deployment ran.
    await failOnValidationError(() => checkSpireChartUpgrade(previousDeployment.versions, config.spireChartVersion));
    const secrets = loadSecretConfig();
    // A new datastore or upstream authority changes what every workload and peer trusts: said, and refused until
    // acknowledged (config spireChangeAcknowledged), before any resource is declared.
    const identityPlaneWarning = await failOnValidationError(() =>
        checkIdentityPlaneChange(
            previousDeployment,
            { dataStore: config.spireDataStore, upstreamAuthority: config.spireUpstreamAuthority, upstreamCertificate: upstreamCertificatePem() },
            config.trustDomain,
            config.spireChangeAcknowledged,
        ),
    );
    if (identityPlaneWarning !== undefined) {
        pulumi.log.warn(identityPlaneWarning);
    }
    const gatewayIstioLabel = config.ingressGatewayName.replace(/^istio-/, "");
    // The stack's one Kubernetes provider, on the kube context the stack names (validated with the config above), and
    // handed to every component: each Kubernetes resource, read, Helm release and manifest goes through it. The
    // default provider is disabled for the project (Pulumi.yaml), so nothing can reach the current kube context. With
    // Bookinfo, whose manifest objects are named after the provider's default namespace, that namespace is fixed too
    // (MANIFEST_DEFAULT_NAMESPACE), so their names do not depend on the kube context's.
    const manifestNamespace = config.samples.includes("bookinfo") ? MANIFEST_DEFAULT_NAMESPACE : undefined;
    const onCluster: pulumi.ComponentResourceOptions = { providers: [stackKubernetesProvider(undefined, manifestNamespace)] };

    // 2. SPIRE: server, agents, CSI driver, controller manager.
    const spire = new Spire(
        "spire",
        {
            trustDomain: config.trustDomain,
            clusterName: config.clusterName,
            namespace: config.spireNamespace,
            repository: config.spireChartRepository,
            chartVersion: config.spireChartVersion,
            crdsChartVersion: config.spireCrdsChartVersion,
            caTTL: config.caTTL,
            caSubject: {
                country: config.caSubjectCountry,
                organization: config.caSubjectOrganization,
                commonName: config.caSubjectCommonName,
            },
            federationRefreshHint: config.federationRefreshHint,
            // The profile peers are told is the one SPIRE serves: https_web with the configured Web PKI certificate.
            bundleEndpointTlsSecret: config.bundleEndpointProfile === "https_web" ? config.bundleEndpointTlsSecret : undefined,
            // SPIRE's Prometheus telemetry, scraped by the observability add-on's Prometheus.
            telemetry: config.observability,
            protect: config.protectSpire,
            adopt: { namespace: config.adopt.includes("spire-namespace"), releases: config.adopt.includes("spire-releases") },
            replicas: config.spireServerReplicas,
            dataStore: config.spireDataStore,
            dataStorePassword: secrets.spireDataStorePassword,
            upstreamAuthority: config.spireUpstreamAuthority,
            upstreamCertificate: secrets.spireUpstreamCertificate,
            upstreamKey: secrets.spireUpstreamKey,
        },
        onCluster,
    );

    // 3. Federation: this cluster's bundle endpoint, and one federated trust domain per ready peer.
    const bundleEndpoint = new BundleEndpoint(
        "federation",
        {
            trustDomain: config.trustDomain,
            namespace: spire.namespace,
            spireRelease: spire.release,
            serviceType: config.bundleEndpointServiceType,
            url: config.bundleEndpointUrl || undefined,
            profile: config.bundleEndpointProfile,
            namespaceUid: spire.namespaceUid,
            previousDeployment,
        },
        onCluster,
    );
    const federated = peers.ready.map(
        (peer) =>
            new FederatedTrustDomain(
                `peer-${peer.federation.trustDomain}`,
                {
                    peer,
                    controllerClassName: spire.controllerClassName,
                    spireRelease: spire.release,
                    localInstallationId: bundleEndpoint.installationId,
                },
                onCluster,
            ),
    );

    // 4. Registration: the ClusterSPIFFEIDs for the gateway and enrolled workloads.
    const registration = new WorkloadRegistration(
        "registration",
        {
            trustDomain: config.trustDomain,
            controllerClassName: spire.controllerClassName,
            gateway: {
                namespace: config.istioNamespace,
                istioLabel: gatewayIstioLabel,
                serviceAccount: config.ingressGatewayServiceAccount,
            },
            excludedNamespaces: [config.spireNamespace, config.istioNamespace],
            enrolledNamespaces: config.enrolledNamespaces,
            namespaceRevisions: config.namespaceRevisions,
            federatesWith: peerTrustDomains,
            spireRelease: spire.release,
            federatedTrustDomainResources: federated.map((f) => f.resource),
            adoptGatewayRegistration: config.adopt.includes("gateway-registration"),
        },
        onCluster,
    );

    // 5. Istio, from one IstioOperator whose trust domain is SPIRE's and which accepts the peers' trust domains.
    const operator = buildIstioOperator({
        trustDomain: config.trustDomain,
        federatedTrustDomains: peerTrustDomains,
        namespace: config.istioNamespace,
        // With revisions: the version of the gateway's revision (each istiod release gets its own version's templates).
        version: resolveRevision(config.ingressGatewayRevision, config.istioRevisions, config.istioRevisionTags)?.version ?? config.istioChartVersion,
        nativeSidecars: config.nativeSidecars,
        gateway: {
            name: config.ingressGatewayName,
            istioLabel: gatewayIstioLabel,
            serviceType: config.ingressGatewayServiceType,
        },
    });
    const mesh = new IstioMesh(
        "istio",
        {
            operator,
            repository: config.istioChartRepository,
            chartVersion: config.istioChartVersion,
            revisions: config.istioRevisions,
            revisionTags: config.istioRevisionTags,
            gatewayRevision: config.ingressGatewayRevision,
            gatewayServiceAccount: config.ingressGatewayServiceAccount,
            mtlsMode: config.mtlsMode,
            spireRelease: spire.release,
            gatewayRegistration: registration.gatewayRegistration,
            adoptNamespace: config.adopt.includes("istio-namespace"),
        },
        onCluster,
    );

    // 6. Observability (optional): Prometheus and Kiali, Grafana too if asked, reachable only by port-forward.
    const observability = config.observability
        ? new Observability(
              "observability",
              {
                  namespace: config.istioNamespace,
                  istiodRelease: mesh.istiod,
                  grafana: config.observabilityGrafana,
                  access: config.observabilityAccess,
                  istioVersion: config.istioChartVersion,
                  graphNamespaces: config.enrolledNamespaces,
                  // SPIRE's scrape jobs, alerting rules and Grafana dashboard (one federation row per ready peer).
                  spire: {
                      spireNamespace: config.spireNamespace,
                      caTTL: config.caTTL,
                      federationRefreshHint: config.federationRefreshHint,
                      peerTrustDomains,
                  },
              },
              onCluster,
          )
        : undefined;

    // 7. Samples (config `samples`) and the federated call: this stack's curl-greeter calls each peer's Bookinfo through
    //    the peer's ingress gateway over mTLS with SPIRE identities; this stack's Bookinfo admits the peers' curl-greeters
    //    by SPIFFE ID. Addresses and identities come from the peers' `samples` outputs.
    const sampleArgs = {
        namespace: config.samplesNamespace,
        trustDomain: config.trustDomain,
        prerequisites: [mesh.istiod, registration.workloadRegistration, registration.enrollments[config.samplesNamespace]],
    };
    const wanted = new Set(config.samples);
    if (wanted.has("sleep-httpbin")) {
        new SleepHttpbin("sleep-httpbin", sampleArgs, onCluster);
    }
    const curlGreeter = wanted.has("curl-greeter") ? new CurlGreeter("curl-greeter", sampleArgs, onCluster) : undefined;
    const bookinfo = wanted.has("bookinfo") ? new Bookinfo("bookinfo", { ...sampleArgs, gatewaySelector: { istio: gatewayIstioLabel } }, onCluster) : undefined;
    const bookinfoAddress = bookinfoHost(config.trustDomain);
    if (bookinfo) {
        new FederatedServiceAccess(
            "bookinfo-federated",
            {
                host: bookinfoAddress,
                allowedSpiffeIds: peers.ready.flatMap((p) => (p.samples.curlGreeter ? [p.samples.curlGreeter.spiffeId] : [])).sort(),
                gatewaySelector: { istio: gatewayIstioLabel },
                gatewayNamespace: config.istioNamespace,
                destination: { host: `productpage.${config.samplesNamespace}.svc.cluster.local`, port: 9080 },
                uriMatches: BOOKINFO_URI_MATCHES,
                prerequisites: [mesh.gateway, bookinfo],
            },
            onCluster,
        );
    }
    const federatedCalls = curlGreeter
        ? peers.ready.flatMap(({ federation, samples }) =>
              samples.bookinfo
                  ? [
                        new FederatedServiceClient(
                            `bookinfo-${federation.trustDomain}`,
                            {
                                host: samples.bookinfo.host,
                                gatewayAddress: samples.bookinfo.gatewayAddress as string,
                                port: samples.bookinfo.port,
                                serverSpiffeId: samples.bookinfo.gatewaySpiffeId,
                                namespace: config.samplesNamespace,
                                prerequisites: [mesh.istiod],
                            },
                            onCluster,
                        ),
                    ]
                  : [],
          )
        : [];

    return {
        trustDomain: spire.trustDomain,
        clusterName: config.clusterName,
        spireNamespace: spire.namespace,
        istioNamespace: mesh.namespace,
        controllerClassName: spire.controllerClassName,
        workloadSocketPath: spire.workloadSocketPath,
        ingressGatewaySpiffeId: registration.gatewaySpiffeId,
        ingressGatewayAddress: mesh.gatewayAddress,
        workloadSpiffeIdPattern: registration.workloadSpiffeIdPattern,
        enrolledNamespaces: registration.enrolledNamespaces,
        mtlsMode: mesh.mtlsMode,
        istioOperator: mesh.operator,
        federatedWith: peerTrustDomains,
        pendingPeers: peers.pending.map((p) => p.stack),
        federation: bundleEndpoint.federation,
        spireInstallation: bundleEndpoint.installation,
        [SPIRE_SERVER_OUTPUT]: spire.serverRecord,
        // The chart versions this deployment runs, read back by the next (checkSpireChartUpgrade).
        [VERSIONS_OUTPUT]: deployedVersions(config),
        samples: pulumi.output({
            bookinfo: bookinfo
                ? { host: bookinfoAddress, port: FEDERATED_GATEWAY_PORT, gatewaySpiffeId: registration.gatewaySpiffeId, gatewayAddress: mesh.gatewayAddress }
                : undefined,
            curlGreeter: curlGreeter ? { spiffeId: curlGreeter.spiffeId } : undefined,
        }),
        federatedCalls: federatedCalls.map((c) => pulumi.interpolate`${c.url}/productpage`),
        observability: observability
            ? pulumi.output({
                  kialiPortForward: observability.kialiPortForward,
                  kialiGraphUrl: observability.kialiGraphUrl,
                  prometheusPortForward: observability.prometheusPortForward,
                  grafanaPortForward: observability.grafanaPortForward,
              })
            : undefined,
    };
};

/** The disk upstream authority's root certificate (public, though set as a secret), to tell a new root from the same. */
function upstreamCertificatePem(): string | undefined {
    return new pulumi.Config(PROJECT_NAME).get("spireUpstreamCertificate");
}

/** Runs a validation step; a ValidationError stops the program with its message alone (no stack trace). */
async function failOnValidationError<T>(step: () => T | Promise<T>): Promise<T> {
    try {
        return await step();
    } catch (error) {
        throw error instanceof ValidationError ? new pulumi.RunError(error.message) : error;
    }
}
