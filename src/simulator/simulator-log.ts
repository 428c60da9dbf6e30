// The slice of a pino logger the simulator's library code uses, so it depends on neither Fastify nor
// a concrete logger (Fastify's silent logger and pino both fit).
export interface SimulatorLog {
  info(object: object, message: string): void;
  warn(object: object, message: string): void;
  error(object: object, message: string): void;
}
