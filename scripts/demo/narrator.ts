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

/** A narrator writing to `out`; ANSI colour only when `colour` is true (a TTY that did not ask for NO_COLOR). */
export function createNarrator(out: { write(s: string): unknown }, colour: boolean): Narrator {
  const st = styleFor(colour);
  const started = Date.now();
  let n = 0;
  const indent = (text: string): string =>
    text
      .replace(/\s+$/, '')
      .split('\n')
      .map((l) => `    ${l}`)
      .join('\n');
  return {
    step(title) {
      const at = ((Date.now() - started) / 1000).toFixed(1);
      out.write(`\n${st.bold(`== ${++n}. ${title}`)} ${st.dim(`(${at} s)`)}\n`);
    },
    say(text) {
      out.write(`${text}\n`);
    },
    command(line) {
      out.write(`${st.cyan(`$ ${line}`)}\n`);
    },
    output(text) {
      if (text.trim() !== '') out.write(`${st.dim(indent(text))}\n`);
    },
    file(name, text) {
      out.write(`${st.cyan(`--- ${name}`)}\n${st.dim(indent(text))}\n`);
    },
  };
}
