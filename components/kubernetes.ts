// The stack's Kubernetes provider: one explicit provider per stack, on the kube context the stack's config names, so a
// stack deploys to its own cluster and never to whatever context happens to be current.
//
// Every component takes it through ComponentResourceOptions (`providers: [provider]`); the Node.js SDK hands a
// component's providers to all its children, custom resources, reads (`Resource.get`) and multi-language components
// (ConfigFile v2) alike, unless a child names another (@pulumi/pulumi resource.ts, Resource constructor: `__providers`
// is inherited from the parent and a custom or remote child of package `kubernetes` takes `__providers.kubernetes`).
// The default Kubernetes provider is disabled for the project (Pulumi.yaml `pulumi:disable-default-providers`), so a
// resource that missed it fails instead of reaching the current context.

import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { describeProblem } from "./validation";

/** The stack config key naming the kube context of the stack's cluster. */
export const KUBERNETES_CONTEXT_KEY = "kubernetes:context";

/** The stack config key of an optional kubeconfig (its contents or a path), read as a secret. */
export const KUBERNETES_KUBECONFIG_KEY = "kubernetes:kubeconfig";

/** A Kubernetes Service type this program declares. */
export type ServiceType = "LoadBalancer" | "NodePort" | "ClusterIP";

/** Logical name of the stack's Kubernetes provider (its URN ends in `pulumi:providers:kubernetes::<this>`). */
export const STACK_PROVIDER_NAME = "cluster";

/**
 * Checks the stack's kube context. Unset, empty or blank, the provider would not pick a context at all: pulumi-kubernetes
 * passes it to client-go as `ConfigOverrides.CurrentContext`, and an empty one keeps the kubeconfig's current context
 * (pulumi-kubernetes provider/pkg/provider/provider.go Configure), whichever cluster that is at the time of the run.
 */
export function checkKubernetesContext(value: unknown): string | undefined {
    const expected =
        "expected the name of the kubeconfig context of this stack's cluster (without one, the current context is used, whichever cluster it is); " +
        `set it with \`pulumi config set ${KUBERNETES_CONTEXT_KEY} <kube context>\``;
    if (value === undefined) {
        return `is not set; ${expected}`;
    }
    if (typeof value !== "string") {
        return `is not a string; ${expected}`;
    }
    if (value.trim() === "") {
        return `is empty; ${expected}`;
    }
    return undefined;
}

/**
 * The problems of the stack's Kubernetes settings (config namespace `kubernetes`, `read("context")` is
 * `kubernetes:context`), one line each, as the configuration validation reports them.
 */
export function kubernetesConfigProblems(read: (key: string) => string | undefined): string[] {
    const context = read("context");
    const reason = checkKubernetesContext(context);
    if (reason === undefined) {
        return [];
    }
    return [context === undefined ? `${KUBERNETES_CONTEXT_KEY}: ${reason}` : describeProblem(KUBERNETES_CONTEXT_KEY, context, reason)];
}

/**
 * The default namespace the stack's provider is given when the stack deploys a manifest (Bookinfo's ConfigFile v2),
 * instead of the kube context's. ConfigFile v2 names each object `<ConfigFile name>:<namespace>/<object name>` after
 * giving a namespaced object without a namespace the provider's default namespace (pulumi-kubernetes
 * provider/pkg/provider/yaml/v2/configfile.go Construct: Normalize(objs, k.defaultNamespace, ...), then yaml.go
 * register). Unset, that namespace is the kube context's (provider/pkg/provider/provider.go Configure:
 * `kubernetes:config:namespace`, else the kubeconfig's Namespace() for the context, "default" when the context has
 * none), so a context with another namespace (after `kubens`, or CI's kubeconfig against a laptop's) renamed every
 * manifest object, and the engine's create-before-delete of the renamed ones failed with AlreadyExists. "default" is
 * what a context without a namespace gave, so stacks deployed from one keep their names. The program names the
 * namespace of everything else it declares, so the setting changes nothing else (test/samples.test.ts).
 */
export const MANIFEST_DEFAULT_NAMESPACE = "default";

/**
 * The stack's Kubernetes provider: `kubernetes:context`, and `kubernetes:kubeconfig` when set (a secret: a kubeconfig
 * holds credentials, so it stays encrypted in the provider's state), and `namespace` when given (a stack deploying a
 * manifest passes MANIFEST_DEFAULT_NAMESPACE; otherwise the provider is unchanged from earlier releases). Call it
 * after the configuration is validated (loadStackConfig refuses a stack without a context). No other `kubernetes:*`
 * key is read: an explicit provider takes only its arguments, not the stack config of the default provider.
 */
export function stackKubernetesProvider(kubernetes: pulumi.Config = new pulumi.Config("kubernetes"), namespace?: string): k8s.Provider {
    const context = kubernetes.require("context");
    const kubeconfig = kubernetes.getSecret("kubeconfig");
    return new k8s.Provider(STACK_PROVIDER_NAME, {
        context,
        ...(kubeconfig !== undefined ? { kubeconfig } : {}),
        ...(namespace !== undefined ? { namespace } : {}),
    });
}

/**
 * pulumi-kubernetes' per-object switch for a forced server-side apply: with "true" among an object's annotations, its
 * updates take over fields that other field managers own instead of failing on a conflict.
 */
export const PATCH_FORCE_ANNOTATION = "pulumi.com/patchForce";

/**
 * The annotations an adopted (imported) Kubernetes object gets, none when it is not adopted. The runbooks made these
 * objects with kubectl (`kubectl create namespace`, `kubectl apply`), whose field managers own their fields. The
 * provider's server-side apply forces only for its own old client-side managers and, on a real update, first hands it
 * the fields of the `kubectl` and `before-first-apply` managers, but never in a preview (pulumi-kubernetes
 * provider/pkg/await/await.go: ssaUpdate, fixCSAFieldManagers returns early when c.Preview, patchForce). So where the
 * program's values differ from the runbook's, the first preview of an adoption would stop on a field conflict. The
 * annotation forces exactly these objects; the provider-wide `enablePatchForce` would force every object of the stack
 * (the annotation comes first, then enablePatchForce, then PULUMI_K8S_ENABLE_PATCH_FORCE: await.go patchForce).
 * Helm releases need nothing: a release is a `helm upgrade` (helm_release.go), not a server-side apply.
 */
export function adoptionAnnotations(adopted: boolean): { annotations?: Record<string, string> } {
    return adopted ? { annotations: { [PATCH_FORCE_ANNOTATION]: "true" } } : {};
}
