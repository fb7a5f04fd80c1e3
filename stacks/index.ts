import { createStack, readStackConfig } from "./program";

// Pulumi calls an exported function and uses its result as the stack outputs.
export = () => createStack(readStackConfig());
