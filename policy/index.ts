// Entry of the CrossGuard policy pack: `pulumi preview --policy-pack policy`.
// Tests never load this file: constructing a PolicyPack starts the analyzer's gRPC server.
import { PolicyPack } from "@pulumi/policy";
import { sesMailPolicies } from "./policies";

new PolicyPack("ses-mail", { enforcementLevel: "mandatory", policies: sesMailPolicies });
