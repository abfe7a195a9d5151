/** The pipeline end to end, the workers connected to PostgreSQL directly (see pipeline-suite.ts). */
import { pipelineSuite } from "./pipeline-suite.js";

pipelineSuite();
