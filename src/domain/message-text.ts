import { MessageKind } from "./enums";
import type { FormContentData, TodoContentData, VoteContentData } from "./messaging";

/**
 * The words of a message that keyword rules read (issue 14: group robots' keyword auto-replies,
 * item 7; the compliance audit's sensitive words, item 8): text and markdown content, a link card's
 * title and description, a to-do's title, a vote's question and options, a form's title, labels
 * and options; one part a line (keywords are one line, so no match spans two parts). Images and
 * files carry no text of their own.
 */
export function messageText(kind: MessageKind, content: Record<string, unknown>): string {
  switch (kind) {
    case MessageKind.TEXT:
    case MessageKind.MARKDOWN:
      return String(content.content ?? "");
    case MessageKind.LINK_CARD:
      return [content.title, content.description].filter((s) => typeof s === "string").join("\n");
    case MessageKind.TODO:
      return (content as unknown as TodoContentData).title;
    case MessageKind.VOTE: {
      const vote = content as unknown as VoteContentData;
      return [vote.question, ...vote.options].join("\n");
    }
    case MessageKind.FORM: {
      const form = content as unknown as FormContentData;
      return [form.title, ...form.fields.flatMap((f) => [f.label, ...f.options])].join("\n");
    }
    case MessageKind.IMAGE:
    case MessageKind.FILE:
      return "";
  }
}

/** Characters that do not show (zero-width space and joiners, soft hyphen, variation selectors…). */
const INVISIBLE = /\p{Default_Ignorable_Code_Point}/gu;

/**
 * The form keywords and texts are compared in: Unicode NFKC (full-width letters and digits, common
 * in Chinese input, become their ASCII forms; ligatures split), without the characters that do not
 * show (a zero-width space or a soft hyphen inside a word would otherwise hide it from the audit),
 * then lower case, in JavaScript, so the comparison does not depend on the database's collation. A
 * keyword matches a text whose key contains the keyword's key.
 */
export function matchKey(text: string): string {
  return text.normalize("NFKC").replace(INVISIBLE, "").toLowerCase();
}
