#!/usr/bin/env node
// geomesh runs from TypeScript source: register tsx's loader, then hand over to the CLI.
import { register } from "tsx/esm/api";

register();
await import("../src/main.ts");
