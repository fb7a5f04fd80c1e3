// What a function bundle gets instead of a module it does not need on the Lambda runtime's Node
// (LEFT_OUT in components/bundle.ts). Reaching it means that premise broke: fail loudly.
throw new Error("A module left out of this function bundle was loaded (components/bundle.ts LEFT_OUT): the runtime lacks what the bundle relies on.");
