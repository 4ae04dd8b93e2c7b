// The istio-spire policy pack: `pulumi preview --policy-pack policy` from the project root. The policies and their
// checks live in the modules policies.ts gathers (tests import it; constructing the PolicyPack starts the analyzer's gRPC server).
import { PolicyPack } from "@pulumi/policy";
import { policies } from "./policies";

new PolicyPack("istio-spire", { policies });
