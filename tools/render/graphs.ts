// The Mermaid graphs of a render (GitHub draws ```mermaid blocks in Markdown): the fleet (`rendered/fleet.md`) and each
// stack's dependency chain (its `summary.md`). Both are drawn from the run itself (the stacks' outputs, the peers they
// read, the declared resources' dependsOn and parents), never from config, and are byte-identical from run to run:
// nodes, edges and groups are sorted, ids are derived from names by an injective encoding, labels are quoted and
// escaped.
//
// Mermaid syntax used (flowchart): https://mermaid.js.org/syntax/flowchart.html — node ids, quoted labels `["..."]`,
// entity codes (`#quot;`, `#35;`) for characters that would end or break a label, `-->` and dotted `-.->` links with
// `|text|`, `subgraph id["title"] ... end`, `classDef` and `:::class`.

import type { Declared } from "../mock-engine/harness";

// ---------------------------------------------------------------------------------------------------------------
// Ids and labels

/**
 * A Mermaid node id for a name: `prefix` then the name's letters and digits as they are, `_` as `__`, `-` as `_h`,
 * `.` as `_d`, and any other character as `_u` and its four hex digits. Injective (a decoder reads `_` and the letter
 * after it), made only of [A-Za-z0-9_], so no name (`cluster-1.prod`, `end`, `o`...) can be read as Mermaid syntax.
 */
export function mermaidId(prefix: string, name: string): string {
    const encoded = [...name]
        .map((c) => {
            if (/[A-Za-z0-9]/.test(c)) {
                return c;
            }
            if (c === "_") {
                return "__";
            }
            if (c === "-") {
                return "_h";
            }
            if (c === ".") {
                return "_d";
            }
            return [...c].map((unit) => `_u${unit.codePointAt(0)!.toString(16).padStart(4, "0")}`).join("");
        })
        .join("");
    return `${prefix}_${encoded}`;
}

/**
 * A quoted Mermaid label of lines (`"line 1<br/>line 2"`). Characters that would end the label or be read as HTML or
 * Markdown are written as Mermaid entity codes; `#` first, since every code starts with it.
 */
export function mermaidLabel(...lines: string[]): string {
    const escape = (text: string) =>
        text
            .replace(/#/g, "#35;")
            .replace(/"/g, "#quot;")
            .replace(/&/g, "#amp;")
            .replace(/</g, "#lt;")
            .replace(/>/g, "#gt;")
            .replace(/`/g, "#96;")
            .replace(/[\r\n]+/g, " ");
    return `"${lines.map(escape).join("<br/>")}"`;
}

/** Byte-order comparison: the same on every machine and locale. */
function compare(a: string, b: string): number {
    return a < b ? -1 : a > b ? 1 : 0;
}

/** A ```mermaid block. Labels never hold a backtick (mermaidLabel), so three always fence it. */
function mermaidBlock(lines: string[]): string[] {
    return ["```mermaid", ...lines, "```"];
}

// ---------------------------------------------------------------------------------------------------------------
// The fleet

/** What the fleet graph needs of one stack's render (tools/render/render.ts StackRender). */
export type FleetStack =
    | {
          stack: string;
          ok: true;
          /** The stack's outputs: trustDomain, federatedWith (trust domains), pendingPeers (peer stack names). */
          outputs: Record<string, unknown>;
          /** The peer stacks it read (`<org>/<project>/<stack>`), each given its outputs or none. */
          peers: string[];
          /** Policy violations: a render with any fails, as `pulumi preview --policy-pack` fails. */
          violations: number;
      }
    | { stack: string; ok: false };

export type FleetEdgeKind = "federated" | "pending";

export interface FleetNode {
    stack: string;
    id: string;
    /** The label's lines. */
    lines: string[];
    state: "ok" | "failed" | "absent";
}

export interface FleetEdge {
    from: string;
    to: string;
    kind: FleetEdgeKind;
}

/** The stack a peer reference names: its last segment (`organization/istio-spire/cluster2` → `cluster2`). */
function peerStack(reference: string): string {
    return reference.slice(reference.lastIndexOf("/") + 1);
}

function stringList(value: unknown): string[] {
    return Array.isArray(value) ? value.filter((v): v is string => typeof v === "string") : [];
}

/**
 * The fleet as this render resolved it. A node per rendered stack (its trust domain; marked failed when its render
 * failed or the policy pack found a violation), and one per peer a stack read that this render did not write
 * (`npm run render -- cluster2` writes cluster2 only). An edge per peer a stack read, from the stack to the peer:
 * `federated` when the stack federates with it (the peer's trust domain is in its `federatedWith` output), `pending`
 * when the peer is in its `pendingPeers` output (the peer has no federation output yet: the bootstrap's next run
 * federates them). Throws when the outputs disagree with the peers read, which would be a bug of the program.
 */
export function fleetGraph(stacks: FleetStack[]): { nodes: FleetNode[]; edges: FleetEdge[] } {
    const byName = new Map(stacks.map((s) => [s.stack, s]));
    const nodes = new Map<string, FleetNode>();
    for (const s of stacks) {
        if (!s.ok) {
            nodes.set(s.stack, { stack: s.stack, id: mermaidId("s", s.stack), lines: [s.stack, "render failed"], state: "failed" });
            continue;
        }
        const trustDomain = typeof s.outputs.trustDomain === "string" ? s.outputs.trustDomain : "no trust domain";
        const lines = [s.stack, trustDomain];
        if (s.violations > 0) {
            lines.push(`${s.violations} policy violation${s.violations === 1 ? "" : "s"}`);
        }
        nodes.set(s.stack, { stack: s.stack, id: mermaidId("s", s.stack), lines, state: s.violations > 0 ? "failed" : "ok" });
    }
    const edges: FleetEdge[] = [];
    for (const s of stacks) {
        if (!s.ok) {
            continue;
        }
        const federatedWith = stringList(s.outputs.federatedWith);
        const pendingPeers = stringList(s.outputs.pendingPeers);
        for (const reference of s.peers) {
            const to = peerStack(reference);
            if (!nodes.has(to)) {
                nodes.set(to, { stack: to, id: mermaidId("s", to), lines: [to, "not in this render"], state: "absent" });
            }
            const peer = byName.get(to);
            if (pendingPeers.includes(reference)) {
                edges.push({ from: s.stack, to, kind: "pending" });
                continue;
            }
            const peerTrustDomain = peer?.ok ? peer.outputs.trustDomain : undefined;
            if (typeof peerTrustDomain === "string" && !federatedWith.includes(peerTrustDomain)) {
                throw new Error(
                    `${s.stack} read peer ${reference} (trust domain ${peerTrustDomain}), which is neither in its federatedWith nor its pendingPeers`,
                );
            }
            edges.push({ from: s.stack, to, kind: "federated" });
        }
        const federatedEdges = edges.filter((e) => e.from === s.stack && e.kind === "federated").length;
        if (federatedEdges !== federatedWith.length) {
            throw new Error(
                `${s.stack} federates with ${federatedWith.length} trust domains (${federatedWith.join(", ")}) but read ${federatedEdges} ready peers`,
            );
        }
    }
    return {
        nodes: [...nodes.values()].sort((a, b) => compare(a.stack, b.stack)),
        edges: edges.sort((a, b) => compare(a.from, b.from) || compare(a.to, b.to)),
    };
}

/** The class of a fleet node's state, and how GitHub draws it. */
const FLEET_CLASSES = {
    failed: "fill:#fdd,stroke:#c00,stroke-width:2px",
    absent: "fill:#eee,stroke:#999,stroke-dasharray:4 3",
} as const;

/** The fleet graph as Mermaid flowchart lines. */
export function fleetMermaid(graph: { nodes: FleetNode[]; edges: FleetEdge[] }): string[] {
    const id = new Map(graph.nodes.map((n) => [n.stack, n.id]));
    const lines = ["flowchart LR"];
    for (const node of graph.nodes) {
        lines.push(`    ${node.id}[${mermaidLabel(...node.lines)}]${node.state === "ok" ? "" : `:::${node.state}`}`);
    }
    for (const edge of graph.edges) {
        lines.push(`    ${id.get(edge.from)} ${edge.kind === "pending" ? "-.->|pending|" : "-->|federated|"} ${id.get(edge.to)}`);
    }
    for (const [name, style] of Object.entries(FLEET_CLASSES)) {
        if (graph.nodes.some((n) => n.state === name)) {
            lines.push(`    classDef ${name} ${style}`);
        }
    }
    return lines;
}

/** `rendered/fleet.md`: the fleet graph, with what it shows and a table of the same facts. */
export function fleetFile(stacks: FleetStack[]): string {
    const graph = fleetGraph(stacks);
    const rendered = [...stacks].sort((a, b) => compare(a.stack, b.stack));
    const list = (items: string[]) => (items.length > 0 ? items.join(", ") : "none");
    const lines = [
        "# The fleet",
        "",
        "Rendered offline by `npm run render`: the stacks of this render, as it resolved their federation.",
        "An arrow from A to B: A federates with B (it trusts B's trust domain, from B's `federation` output). A dotted",
        "arrow marked pending: A names B as a peer, but B has no `federation` output yet (the bootstrap's next run of A",
        "federates them). A red stack failed to render or has a policy violation; a grey one is a peer this render did",
        "not write.",
        "",
        ...mermaidBlock(fleetMermaid(graph)),
        "",
        "| stack | trust domain | federated with | pending peers |",
        "|---|---|---|---|",
        ...rendered.map((s) =>
            s.ok
                ? `| ${s.stack} | ${typeof s.outputs.trustDomain === "string" ? s.outputs.trustDomain : "none"} | ${list(stringList(s.outputs.federatedWith))} | ${list(stringList(s.outputs.pendingPeers))} |`
                : `| ${s.stack} | render failed | | |`,
        ),
    ];
    return `${lines.join("\n")}\n`;
}

// ---------------------------------------------------------------------------------------------------------------
// A stack's dependency chain

const HELM_RELEASE = "kubernetes:helm.sh/v3:Release";

/** The kinds of resource drawn as nodes of their own: the steps of the chain. */
const MAIN_TYPES: Record<string, { kind: string; shape: (label: string) => string }> = {
    "kubernetes:core/v1:Namespace": { kind: "Namespace", shape: (l) => `([${l}])` },
    [HELM_RELEASE]: { kind: "Helm release", shape: (l) => `[${l}]` },
    "kubernetes:spire.spiffe.io/v1alpha1:ClusterSPIFFEID": { kind: "ClusterSPIFFEID", shape: (l) => `{{${l}}}` },
    "kubernetes:spire.spiffe.io/v1alpha1:ClusterFederatedTrustDomain": { kind: "ClusterFederatedTrustDomain", shape: (l) => `{{${l}}}` },
};

/** A node of the dependency graph: a main resource, or a component drawn as one node for all its resources. */
export interface ChainNode {
    /** The Pulumi name of the resource or component. */
    name: string;
    id: string;
    lines: string[];
    shape: (label: string) => string;
    /** The component whose subgraph holds it ("" for none). */
    group: string;
}

export interface ChainGraph {
    nodes: ChainNode[];
    /** `from` is created before `to` (`to` depends on it), by Pulumi name. */
    edges: { from: string; to: string }[];
    /** Components drawn as subgraphs: name, label and parent subgraph ("" for the top). */
    groups: { name: string; id: string; label: string; parent: string }[];
}

/** The Kubernetes name of a resource (a release's `name`, an object's `metadata.name`), or its Pulumi name. */
function kubernetesName(d: Declared): string {
    const name = d.type === HELM_RELEASE ? d.inputs?.name : d.inputs?.metadata?.name;
    return typeof name === "string" ? name : d.name;
}

/** A component's type without its package and module: `istio-spire:spire:Spire` → `Spire`. */
function shortType(type: string): string {
    return type.slice(type.lastIndexOf(":") + 1);
}

/**
 * A stack's main dependency chain, from the resources it declares. The rule:
 * - Drawn as nodes: every declared (not read) Namespace, Helm release, ClusterSPIFFEID and ClusterFederatedTrustDomain;
 *   and every component none of whose resources is one of those (a sample, the bundle endpoint), as one node standing
 *   for all its resources. Everything else (providers, reads, stack references, objects inside a component that has
 *   a drawn node) is not drawn, and dependencies pass through it.
 * - Grouped: a drawn resource inside a component is drawn in that component's subgraph (nested as components nest).
 * - Edges: B depends on A when a resource of B lists a resource of A in dependsOn, directly or through resources not
 *   drawn; depending on a component is depending on each of its resources (Pulumi waits for its children). An edge A
 *   → B is drawn unless a path of other edges already leads from A to B (the transitive reduction), so each arrow is
 *   a step of the chain, not a shortcut.
 */
export function dependencyGraph(declared: Declared[]): ChainGraph {
    const resources = declared.filter((d) => !d.read);
    const byName = new Map<string, Declared>();
    for (const d of declared) {
        byName.set(d.name, byName.get(d.name) ?? d);
    }
    const children = new Map<string, Declared[]>();
    for (const d of resources) {
        if (d.parent !== "") {
            children.set(d.parent, [...(children.get(d.parent) ?? []), d]);
        }
    }
    const isComponent = (d: Declared) => children.has(d.name) && !d.type.startsWith("kubernetes:") && !d.type.startsWith("pulumi:");
    const isMain = (d: Declared) => d.type in MAIN_TYPES;
    const subtree = (name: string): Declared[] => (children.get(name) ?? []).flatMap((c) => [c, ...subtree(c.name)]);
    const holdsMain = new Map<string, boolean>();
    const componentHoldsMain = (name: string) => {
        if (!holdsMain.has(name)) {
            holdsMain.set(name, subtree(name).some(isMain));
        }
        return holdsMain.get(name)!;
    };

    // The node each declared resource belongs to, if any.
    const unitOf = new Map<string, string>();
    const nodes = new Map<string, ChainNode>();
    const groupOf = (d: Declared): string => {
        for (let parent = byName.get(d.parent); parent !== undefined; parent = byName.get(parent.parent)) {
            if (componentHoldsMain(parent.name)) {
                return parent.name;
            }
        }
        return "";
    };
    for (const d of resources) {
        if (isMain(d)) {
            if (nodes.has(d.name)) {
                throw new Error(`two drawn resources are named ${d.name}`);
            }
            const main = MAIN_TYPES[d.type];
            nodes.set(d.name, { name: d.name, id: mermaidId("r", d.name), lines: [`${main.kind} ${kubernetesName(d)}`], shape: main.shape, group: groupOf(d) });
            unitOf.set(d.name, d.name);
        } else if (isComponent(d) && !componentHoldsMain(d.name) && !unitOf.has(d.name)) {
            // A component with no main resource, not inside another such component: one node for all of it.
            const inside = subtree(d.name);
            nodes.set(d.name, {
                name: d.name,
                id: mermaidId("c", d.name),
                lines: [d.name, `${shortType(d.type)}: ${inside.length} resource${inside.length === 1 ? "" : "s"}`],
                shape: (l) => `[${l}]`,
                group: groupOf(d),
            });
            for (const r of [d, ...inside]) {
                unitOf.set(r.name, d.name);
            }
        }
    }

    // What each resource depends on: its dependsOn, a component standing for each of its resources.
    const dependencies = (name: string): string[] => {
        const d = byName.get(name);
        if (d === undefined) {
            return [];
        }
        return d.dependsOn.flatMap((dep) => {
            const target = byName.get(dep);
            return target !== undefined && children.has(dep) && !target.type.startsWith("kubernetes:") ? [dep, ...subtree(dep).map((c) => c.name)] : [dep];
        });
    };
    // The nodes a resource depends on directly or through resources that are not drawn.
    const direct = (start: string): Set<string> => {
        const found = new Set<string>();
        const seen = new Set<string>();
        const visit = (name: string) => {
            for (const dep of dependencies(name)) {
                if (seen.has(dep)) {
                    continue;
                }
                seen.add(dep);
                const unit = unitOf.get(dep);
                if (unit !== undefined) {
                    found.add(unit);
                } else {
                    visit(dep);
                }
            }
        };
        visit(start);
        return found;
    };
    const before = new Map<string, Set<string>>([...nodes.keys()].map((n) => [n, new Set<string>()]));
    for (const d of resources) {
        const unit = unitOf.get(d.name);
        if (unit !== undefined) {
            for (const dep of direct(d.name)) {
                if (dep !== unit) {
                    before.get(unit)!.add(dep);
                }
            }
        }
    }
    // Everything a node waits for, through any path of edges.
    const reach = new Map<string, Set<string>>();
    const reachOf = (name: string, path: Set<string> = new Set()): Set<string> => {
        if (reach.has(name)) {
            return reach.get(name)!;
        }
        const all = new Set<string>();
        path.add(name);
        for (const dep of before.get(name)!) {
            all.add(dep);
            if (!path.has(dep)) {
                for (const further of reachOf(dep, path)) {
                    all.add(further);
                }
            }
        }
        path.delete(name);
        reach.set(name, all);
        return all;
    };
    const edges: { from: string; to: string }[] = [];
    for (const [node, deps] of before) {
        for (const dep of deps) {
            // Left out when another dependency of the node already waits for this one (and is not in a cycle with the node).
            const implied = [...deps].some((other) => other !== dep && reachOf(other).has(dep) && !reachOf(other).has(node));
            if (!implied) {
                edges.push({ from: dep, to: node });
            }
        }
    }

    const groups = new Map<string, { name: string; id: string; label: string; parent: string }>();
    const addGroup = (name: string) => {
        const d = byName.get(name)!;
        if (!groups.has(name)) {
            groups.set(name, { name, id: mermaidId("g", name), label: `${name} (${shortType(d.type)})`, parent: groupOf(d) });
            if (groupOf(d) !== "") {
                addGroup(groupOf(d));
            }
        }
    };
    for (const node of nodes.values()) {
        if (node.group !== "") {
            addGroup(node.group);
        }
    }
    return {
        nodes: [...nodes.values()].sort((a, b) => compare(a.name, b.name)),
        edges: edges.sort((a, b) => compare(a.from, b.from) || compare(a.to, b.to)),
        groups: [...groups.values()].sort((a, b) => compare(a.name, b.name)),
    };
}

/** The dependency graph as Mermaid flowchart lines: subgraphs (sorted, nested), their nodes, then the edges. */
export function dependencyMermaid(graph: ChainGraph): string[] {
    const lines = ["flowchart LR"];
    const id = new Map(graph.nodes.map((n) => [n.name, n.id]));
    const draw = (group: string, indent: string) => {
        for (const g of graph.groups.filter((x) => x.parent === group)) {
            lines.push(`${indent}subgraph ${g.id}[${mermaidLabel(g.label)}]`);
            draw(g.name, `${indent}    `);
            lines.push(`${indent}end`);
        }
        for (const node of graph.nodes.filter((n) => n.group === group)) {
            lines.push(`${indent}${node.id}${node.shape(mermaidLabel(...node.lines))}`);
        }
    };
    draw("", "    ");
    for (const edge of graph.edges) {
        lines.push(`    ${id.get(edge.from)} --> ${id.get(edge.to)}`);
    }
    return lines;
}

/** The summary's section drawing the dependency chain. */
export function dependencySection(declared: Declared[]): string[] {
    const graph = dependencyGraph(declared);
    if (graph.nodes.length === 0) {
        return ["## Dependency chain", "", "Nothing to draw: the stack declares no namespace, Helm release, SPIRE resource or component."];
    }
    return [
        "## Dependency chain",
        "",
        "The namespaces, Helm releases and SPIRE resources the stack declares, in the components that declare them, and",
        "each component without one of those as a single node. An arrow from A to B: B waits for A (B's dependsOn, directly",
        "or through resources not drawn); an arrow implied by others is left out. Every dependency is listed under",
        '"Order (what waits for what)".',
        "",
        ...mermaidBlock(dependencyMermaid(graph)),
    ];
}
