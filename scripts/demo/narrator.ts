/** How the demo talks to the person watching: step headings, the command lines it runs, their output. */
export interface Narrator {
  /** A numbered step heading, with the seconds since the demo started. */
  step(title: string): void;
  /** A sentence of explanation. */
  say(text: string): void;
  /** The command line about to run, as a person would type it. */
  command(line: string): void;
  /** A command's output, indented under it. */
  output(text: string): void;
  /** A file's content, shown with its name. */
  file(name: string, text: string): void;
  /** A narrator sharing this one's output and step numbers that can be muted on its own. */
  fork(): MutableNarrator;
}

/** A forked narrator: after Ctrl-C the abandoned story is muted so it cannot talk over the clean-up. */
export interface MutableNarrator extends Narrator {
  mute(): void;
}

interface Style {
  bold: (s: string) => string;
  dim: (s: string) => string;
  cyan: (s: string) => string;
}

function styleFor(colour: boolean): Style {
  const wrap = (code: string) => (s: string): string => (colour ? `\u001b[${code}m${s}\u001b[0m` : s);
  return { bold: wrap('1'), dim: wrap('2'), cyan: wrap('36') };
}

interface Shared {
  out: { write(s: string): unknown };
  st: Style;
  started: number;
  steps: number;
}

function indent(text: string): string {
  return text
    .replace(/\s+$/, '')
    .split('\n')
    .map((l) => `    ${l}`)
    .join('\n');
}

function narratorOver(sh: Shared): MutableNarrator {
  let muted = false;
  const write = (s: string): void => {
    if (!muted) sh.out.write(s);
  };
  const { st } = sh;
  return {
    step(title) {
      const at = ((Date.now() - sh.started) / 1000).toFixed(1);
      write(`\n${st.bold(`== ${++sh.steps}. ${title}`)} ${st.dim(`(${at} s)`)}\n`);
    },
    say: (text) => write(`${text}\n`),
    command: (line) => write(`${st.cyan(`$ ${line}`)}\n`),
    output(text) {
      if (text.trim() !== '') write(`${st.dim(indent(text))}\n`);
    },
    file: (name, text) => write(`${st.cyan(`--- ${name}`)}\n${st.dim(indent(text))}\n`),
    fork: () => narratorOver(sh),
    mute() {
      muted = true;
    },
  };
}

/** A narrator writing to `out`; ANSI colour only when `colour` is true (a TTY that did not ask for NO_COLOR). */
export function createNarrator(out: { write(s: string): unknown }, colour: boolean): Narrator {
  return narratorOver({ out, st: styleFor(colour), started: Date.now(), steps: 0 });
}
