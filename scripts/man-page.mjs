// vmhop(1) in roff, written to stdout from the built command tree (dist/src/cli/program.js):
// the same definitions `vmhop --help` and the completion script read, so a new verb or flag
// is documented without an edit. `npm run package` runs it (the .deb ships the page).
// The page's date is the commit's (VMHOP_MAN_DATE, YYYY-MM-DD) so a rebuild gives the same page.
import { buildProgram } from '../dist/src/cli/program.js';

const program = buildProgram();
const version = program.version();
const date = process.env.VMHOP_MAN_DATE ?? new Date().toISOString().slice(0, 10);

// roff: a backslash is \e, a hyphen in an option name \-, a line may not start with . or '.
const text = (s) => String(s).replace(/\\/g, '\\e').replace(/-/g, '\\-').replace(/^[.']/gm, '\\&$&');
const bold = (s) => `\\fB${text(s)}\\fR`;
const italic = (s) => `\\fI${text(s)}\\fR`;

function optionLines(options) {
  return options
    .filter((o) => !o.hidden)
    .flatMap((o) => {
      const [names, value] = [o.flags.replace(/\s*[<[].*$/, ''), o.flags.match(/[<[].*$/)?.[0]];
      const head = names.split(/,\s*/).map(bold).join(', ');
      const extra = [
        o.argChoices ? `one of: ${o.argChoices.join(', ')}` : '',
        o.defaultValue !== undefined && o.defaultValue !== false
          ? `default: ${JSON.stringify(o.defaultValue)}`
          : '',
      ].filter(Boolean);
      const desc = [o.description, extra.length ? `(${extra.join('; ')})` : ''].filter(Boolean).join(' ');
      return ['.TP', value ? `${head} ${italic(value)}` : head, text(desc)];
    });
}

function commandLines(cmd, path) {
  if (cmd._hidden) return [];
  const full = `${path} ${cmd.name()}`;
  const args = cmd.registeredArguments.map((a) => (a.required ? `<${a.name()}>` : `[${a.name()}]`));
  const lines = [`.SS "${text([full, ...args].join(' '))}"`, text(cmd.description())];
  if (cmd.aliases().length) lines.push('.br', `Also: ${cmd.aliases().map(bold).join(', ')}.`);
  for (const a of cmd.registeredArguments.filter((x) => x.description || x.argChoices)) {
    const choices = a.argChoices ? ` (one of: ${a.argChoices.join(', ')})` : '';
    lines.push('.TP', italic(a.name()), text(`${a.description ?? ''}${choices}`));
  }
  lines.push(...optionLines(cmd.options));
  return [...lines, ...cmd.commands.flatMap((c) => commandLines(c, full))];
}

const page = [
  `.TH VMHOP 1 "${date}" "vmhop ${version}" "User Commands"`,
  '.SH NAME',
  `vmhop \\- ${text(program.description())}`,
  '.SH SYNOPSIS',
  `${bold('vmhop')} [${italic('global options')}] ${italic('command')} [${italic('arguments')}]`,
  '.SH DESCRIPTION',
  text(
    'vmhop talks to the vmhop-agent of each host over its HTTPS API. Commands that name a VM act on the ' +
      'host given by --connect. This page is generated from the command definitions; ' +
      '`vmhop COMMAND --help` prints the same text.',
  ),
  '.SH GLOBAL OPTIONS',
  ...optionLines(program.options),
  '.SH COMMANDS',
  ...program.commands.flatMap((c) => commandLines(c, 'vmhop')),
  '.SH ENVIRONMENT',
  '.TP',
  bold('VMHOP_TOKEN'),
  text('The client token, when neither --token nor --token-file is given.'),
  '.SH FILES',
  '.TP',
  italic('~/.config/vmhop/hosts.json'),
  text('The hosts `vmhop host add` saved, by name (mode 0600: it may hold tokens).'),
  '.SH SEE ALSO',
  `${bold('vmhop-agent')} ${bold('--help')}, ${bold('virsh')}(1), /usr/share/doc/vmhop/README.md`,
  '',
];
process.stdout.write(page.join('\n'));
