import { badInput } from "../errors/domain-error";
import { lineText } from "./messaging";
import { matchKey } from "./message-text";

/** The limits of the compliance audit (issue 14, item 8; source §7: compliance keyword audit of messages). */
export const MAX_SENSITIVE_WORDS = 1000;
export const SENSITIVE_WORD_MAX = 64;

/** A checked sensitive word: as written, and its comparison key (`matchKey`). */
export interface SensitiveWordData {
  word: string;
  key: string;
}

/**
 * A corp's list of sensitive words, checked: at most 1,000; each 1–64 characters on one line (no
 * control or formatting characters, NUL included, no surrounding blanks), named by its index
 * (`input.words.3`); no word twice once case and full-width forms are ignored.
 */
export function checkSensitiveWords(words: readonly string[], field: string): SensitiveWordData[] {
  if (words.length > MAX_SENSITIVE_WORDS) throw badInput(field, `${field} may list at most ${MAX_SENSITIVE_WORDS.toLocaleString("en-US")} words.`);
  const seen = new Map<string, number>();
  return words.map((w, i) => {
    const word = lineText(w, `${field}.${i}`, SENSITIVE_WORD_MAX);
    const key = matchKey(word);
    const first = seen.get(key);
    if (first !== undefined) throw badInput(`${field}.${i}`, `${field}.${i} repeats word ${first} ("${words[first]}"), ignoring case and full-width forms.`);
    seen.set(key, i);
    return { word, key };
  });
}
