export * from "./event.js";
