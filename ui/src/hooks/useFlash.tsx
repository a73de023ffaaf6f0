// A page's flash messages: the outcome of an action, until dismissed.

import type { FlashbarProps } from "@cloudscape-design/components/flashbar";
import { useCallback, useState } from "react";
import type { OutcomeMessage } from "../runs/outcomes";

export interface Flash {
  items: FlashbarProps.MessageDefinition[];
  show: (message: OutcomeMessage) => void;
  showError: (header: string, error: unknown) => void;
}

let counter = 0;

export function useFlash(): Flash {
  const [items, setItems] = useState<FlashbarProps.MessageDefinition[]>([]);
  const push = useCallback((item: Omit<FlashbarProps.MessageDefinition, "id" | "dismissible" | "onDismiss">) => {
    const id = `flash-${++counter}`;
    const dismiss = (): void => setItems((current) => current.filter((existing) => existing.id !== id));
    // One message at a time: the newest outcome replaces the last.
    setItems([{ ...item, id, dismissible: true, dismissLabel: "Dismiss", onDismiss: dismiss }]);
  }, []);
  const show = useCallback((message: OutcomeMessage) => push({
    type: message.type,
    header: message.header,
    content: message.problems.length
      ? <ul className="outcome-problems">{message.problems.map((line) => <li key={line}>{line}</li>)}</ul>
      : undefined,
  }), [push]);
  const showError = useCallback((header: string, error: unknown) => push({
    type: "error", header, content: error instanceof Error ? error.message : String(error),
  }), [push]);
  return { items, show, showError };
}
