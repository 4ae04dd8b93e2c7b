// Policy 7: no private key material in stack outputs. Outputs are kept in the stack's state and shown to everyone who
// can read the stack, so only public keys (certificates, public JWKs) may be published there, e.g. for federation.

import { StackValidationPolicy } from "@pulumi/policy";
import { CheckedResource, ROOT_STACK, StackViolation, UnknownValueError, describeResource, show } from "./common";

// ------------------------------------------------------------------------------------------------------------------
// 7. No private key material in stack outputs

/** A private key found in a value: where (a path such as `federation.trustBundle(json).keys[0]`) and what. */
export interface PrivateKeyFinding {
    path: string;
    what: string;
}

/** A PEM private key block header of any kind: PKCS#8, RSA, EC, DSA, ENCRYPTED, OPENSSH, PGP ... */
const PEM_PRIVATE_KEY = /-----BEGIN [A-Z0-9 ]*PRIVATE KEY[A-Z0-9 ]*-----/;
const MAX_DEPTH = 64;

function childPath(path: string, key: string | number): string {
    if (typeof key === "number") {
        return `${path}[${key}]`;
    }
    if (/^[A-Za-z_$][\w$]*$/.test(key)) {
        return path === "" ? key : `${path}.${key}`;
    }
    return `${path}[${JSON.stringify(key)}]`;
}

/** Reads a member; undefined for a value unknown during a preview (it is checked when it is known, on update). */
function readKnown(container: any, key: string | number): { value: unknown } | undefined {
    try {
        return { value: container[key] };
    } catch (error) {
        if (error instanceof UnknownValueError) {
            return undefined;
        }
        throw error;
    }
}

/** Parses a string that holds a JSON object or array; undefined for anything else. */
function parseJsonDocument(text: string): unknown {
    const trimmed = text.trim();
    if (!(trimmed.startsWith("{") || trimmed.startsWith("["))) {
        return undefined;
    }
    try {
        return JSON.parse(trimmed);
    } catch {
        return undefined;
    }
}

/**
 * Finds private key material at any depth of a value: PEM private key blocks in strings, and private JWKs (an object
 * with `kty` and the private member `d`), also inside strings that hold JSON (`(json)` in the path marks one).
 */
export function findPrivateKeyMaterial(value: unknown, path = "", depth = 0): PrivateKeyFinding[] {
    if (depth > MAX_DEPTH) {
        return [];
    }
    if (typeof value === "string") {
        const findings: PrivateKeyFinding[] = [];
        const pem = PEM_PRIVATE_KEY.exec(value);
        if (pem !== null) {
            findings.push({ path, what: `a PEM private key block (${JSON.stringify(pem[0])})` });
        }
        const document = parseJsonDocument(value);
        if (document !== undefined) {
            findings.push(...findPrivateKeyMaterial(document, `${path}(json)`, depth + 1));
        }
        return findings;
    }
    if (typeof value !== "object" || value === null) {
        return [];
    }
    // Indexes, not value.map: reading an element that is unknown in a preview throws.
    const keys: (string | number)[] = Array.isArray(value) ? Array.from({ length: value.length }, (_, i) => i) : Object.keys(value);
    if (!Array.isArray(value) && keys.includes("kty") && keys.includes("d")) {
        const kty = readKnown(value, "kty");
        return [{ path, what: `a private JWK (kty ${show(kty?.value)} with private member "d")` }];
    }
    return keys.flatMap((key) => {
        const member = readKnown(value, key);
        return member === undefined ? [] : findPrivateKeyMaterial(member.value, childPath(path, key), depth + 1);
    });
}

/** Violations of the root stack resource (its properties are the stack outputs) carrying private keys. */
export function checkStackOutputsHaveNoPrivateKeys(resources: CheckedResource[]): StackViolation[] {
    return resources
        .filter((r) => r.type === ROOT_STACK)
        .flatMap((stack) =>
            findPrivateKeyMaterial(stack.props).map((finding) => ({
                urn: stack.urn,
                message:
                    `${describeResource(stack)}: output ${finding.path} contains ${finding.what}; expected only public ` +
                    "key material (certificates, public JWKs) in stack outputs: they are kept in the stack's state " +
                    "and shown to everyone who can read the stack (secret ones with --show-secrets)",
            })),
        );
}

export const noPrivateKeysInStackOutputs: StackValidationPolicy = {
    name: "no-private-keys-in-stack-outputs",
    description: "Stack outputs contain no PEM private key block and no private JWK, at any depth, JSON strings included.",
    enforcementLevel: "mandatory",
    validateStack: (args, reportViolation) => {
        for (const v of checkStackOutputsHaveNoPrivateKeys(args.resources)) {
            reportViolation(v.message, v.urn);
        }
    },
};
