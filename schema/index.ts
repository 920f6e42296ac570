// The SDL, read once from schema.graphql beside this file. The .graphql file is the contract;
// resolvers/ implements it.
import { readFileSync } from 'node:fs';

export const typeDefs: string = readFileSync(new URL('./schema.graphql', import.meta.url), 'utf8');
