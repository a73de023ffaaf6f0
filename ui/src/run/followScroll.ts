// Following a log the way terminals do: the pane stays at its bottom while the reader is there,
// and stays put (on the line the reader looks at) when they have scrolled up. Only the pane
// scrolls, never the page around it.

import { useCallback, useLayoutEffect, useRef, useState, type RefObject } from "react";

/** How close to the bottom counts as at the bottom (px): zoom makes scroll positions fractional. */
const BOTTOM_SLACK = 4;
/** How close to the top the reader gets before earlier lines are read (px). */
const NEAR_TOP = 200;

export interface ScrollMetrics {
  scrollTop: number;
  scrollHeight: number;
  clientHeight: number;
}

export const isAtBottom = (pane: ScrollMetrics): boolean =>
  pane.scrollHeight - pane.scrollTop - pane.clientHeight <= BOTTOM_SLACK;

export const isNearTop = (pane: ScrollMetrics): boolean => pane.scrollTop <= NEAR_TOP;

/** The first element (of `lines`, in order) that shows at or below `top`. */
export function firstVisible(lines: HTMLCollection, top: number): HTMLElement | undefined {
  let low = 0;
  let high = lines.length - 1;
  let found: HTMLElement | undefined;
  while (low <= high) {
    const middle = (low + high) >> 1;
    const line = lines[middle] as HTMLElement;
    if (line.offsetTop + line.offsetHeight > top) {
      found = line;
      high = middle - 1;
    } else {
      low = middle + 1;
    }
  }
  return found;
}

export interface FollowScroll {
  /** The reader is at the bottom: new lines keep it there. */
  following: boolean;
  /** Lines arrived below while the reader was scrolled up. */
  unseen: boolean;
  onScroll: () => void;
  /** Scrolls the pane to its bottom and follows again. */
  toBottom: () => void;
}

/** `pane` scrolls; `list` holds one element per line, each with `data-key`. `lastKey` and
 * `firstKey` name the window's newest and oldest lines, so that it knows what changed. */
export function useFollowScroll(pane: RefObject<HTMLDivElement | null>, list: RefObject<HTMLDivElement | null>,
  firstKey: string | undefined, lastKey: string | undefined,
  handlers: { nearTop: () => void; atBottom: () => void }): FollowScroll {
  const followingRef = useRef(true);
  const [following, setFollowing] = useState(true);
  const [unseen, setUnseen] = useState(false);
  // The line at the top of the pane, and how far below the pane's top it is: kept in place when
  // lines come or go above it.
  const anchor = useRef<{ key: string; offset: number } | undefined>(undefined);
  const shownLast = useRef(lastKey);

  const remember = (element: HTMLDivElement): void => {
    const line = list.current ? firstVisible(list.current.children, element.scrollTop) : undefined;
    anchor.current = line?.dataset.key ? { key: line.dataset.key, offset: line.offsetTop - element.scrollTop } : undefined;
  };

  const onScroll = useCallback(() => {
    const element = pane.current;
    if (!element) return;
    const bottom = isAtBottom(element);
    followingRef.current = bottom;
    setFollowing(bottom);
    if (bottom) setUnseen(false);
    remember(element);
    if (isNearTop(element)) handlers.nearTop();
    if (bottom) handlers.atBottom();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [pane, list, handlers.nearTop, handlers.atBottom]);

  useLayoutEffect(() => {
    const element = pane.current;
    if (!element) return;
    const grewBelow = lastKey !== shownLast.current;
    shownLast.current = lastKey;
    if (followingRef.current) {
      element.scrollTop = element.scrollHeight;
      return;
    }
    const kept = anchor.current && list.current?.querySelector<HTMLElement>(`[data-key="${anchor.current.key}"]`);
    if (kept && anchor.current) element.scrollTop = kept.offsetTop - anchor.current.offset;
    else remember(element);
    if (grewBelow && lastKey !== undefined) setUnseen(true);
  }, [pane, list, firstKey, lastKey]);

  const toBottom = useCallback(() => {
    followingRef.current = true;
    setFollowing(true);
    setUnseen(false);
    const element = pane.current;
    if (element) element.scrollTop = element.scrollHeight;
  }, [pane]);

  return { following, unseen, onScroll, toBottom };
}
