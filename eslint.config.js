// Lint rules: typescript-eslint's recommended set, type-aware where it catches real bugs
// (floating promises are how a lost QMP reply or an unhandled rejection hides), and the
// import arrows of the module map (README "Architecture"), which must point one way only.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

// One restricted-import pattern per arrow. Flat config replaces a rule's options for a file
// matched by a later block, so a folder with its own arrows repeats its parent's.
const arrow = (group, message) => ({ group, message });
const agentArrows = [
  arrow(
    ['**/cli/**'],
    'agent -> cli is the wrong way: the CLI calls the agent over HTTP; share through a leaf (src/terminal/, src/client/, src/credentials/)',
  ),
  arrow(
    ['**/testbed/**'],
    'agent -> testbed is the wrong way: the test bed runs agents; the agent knows nothing of it',
  ),
];
const leafArrows = (folder) => [
  arrow(
    ['**/agent/**', '**/cli/**', '**/testbed/**'],
    `${folder} is a shared leaf: it imports nothing of src/agent/, src/cli/ or src/testbed/, so all three can import it`,
  ),
];
const restrict = (patterns) => ({ 'no-restricted-imports': ['error', { patterns }] });

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.cache/**', 'guest/**', 'coverage/**'] },
  js.configs.recommended,
  { files: ['**/*.mjs', '**/*.js'], languageOptions: { globals: globals.node } },
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  { files: ['src/agent/**/*.ts'], rules: restrict(agentArrows) },
  {
    files: ['src/agent/migration/outgoing/**/*.ts'],
    ignores: ['**/*.test.ts'],
    rules: restrict([
      ...agentArrows,
      arrow(
        ['../incoming/**', '**/migration/incoming/**'],
        'outgoing -> incoming is the wrong way: the source reaches the target only through its peer link; what both sides agree on is in migration/wire/',
      ),
    ]),
  },
  {
    files: ['src/agent/migration/wire/**/*.ts'],
    rules: restrict([
      ...agentArrows,
      arrow(
        ['**/incoming/**', '**/outgoing/**'],
        'wire -> incoming/outgoing is the wrong way: migration/wire/ is side-neutral, both sides import it',
      ),
    ]),
  },
  {
    files: ['src/testbed/**/*.ts'],
    rules: restrict([
      arrow(
        ['**/cli/**'],
        'testbed -> cli is the wrong way: the CLI verb `vmhop testbed` drives the test bed; the agent client and hosts file are in src/client/',
      ),
      arrow(
        ['**/agent/http/**'],
        'testbed -> agent/http is the wrong way: the test bed talks to agents over HTTP; token hashing and the CA are in src/credentials/',
      ),
    ]),
  },
  {
    files: ['src/cli/**/*.ts'],
    // The test bed's own verb (`vmhop testbed up|down|status`) is the one CLI file that drives it.
    ignores: ['src/cli/verbs/testbed.ts'],
    rules: restrict([
      arrow(
        ['**/testbed/**'],
        'cli -> testbed is the wrong way: product verbs do not depend on the test bed; the test-guest spec is in src/test-guest/, REPO_ROOT in src/repo/',
      ),
      arrow(
        ['**/agent/**'],
        'cli -> agent is the wrong way: the CLI reaches an agent over HTTP only (src/client/); shared code is in a leaf folder',
      ),
    ]),
  },
  ...['protocol', 'credentials', 'client', 'terminal', 'test-guest', 'repo'].map((folder) => ({
    files: [`src/${folder}/**/*.ts`],
    rules: restrict(leafArrows(`src/${folder}/`)),
  })),
);
