#!/usr/bin/env node
// The `payflow` command. TypeScript runs through tsx's loader (see docs/adr/0005-typescript-at-runtime.md).
import './v8-settings.js';
import { register } from 'tsx/esm/api';

register();
await import('../src/apps/cli.ts');
