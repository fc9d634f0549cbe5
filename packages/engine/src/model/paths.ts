import { MAX_PATH_OPERATIONS } from '../limits.js';

/**
 * A path position with more distinct segments than this holds ids: `/items/sku_iKNDBOgGpHmAuJ`, ids no
 * pattern recognises (see `foldPath`), become `/items/:id` from the first request after this many distinct
 * items. An API's fixed paths rarely have as many siblings.
 */
export const VARYING_AFTER = 25;
/**
 * A path position whose distinct segments include this many of one family (a word and a number: `sku16`,
 * `sku3`, `order-77`) holds ids too: it folds to `:id` at the family's FAMILY_AFTER-th member rather than
 * after {@link VARYING_AFTER} one-off names. Fewer (an API's `v1` and `v2`) stay apart.
 */
export const FAMILY_AFTER = 4;
/** Learned path positions and remembered names, over all owners: memory stays bounded whatever the paths. */
const MAX_LEARNED = 50_000;

/** One path position: its distinct next segments, until there are more than {@link VARYING_AFTER} (then `:id`). */
interface Position {
  next: Map<string, Position> | undefined;
  /** Where every next segment leads once they vary. */
  any: Position | undefined;
  /** Distinct next segments per {@link familyOf} (created with the first one that has a family). */
  families: Map<string, number> | undefined;
}

/** The learning budget {@link PathNames} of one analyzer share. */
export interface LearnedBudget {
  left: number;
}

/** A fresh budget of {@link MAX_LEARNED} positions and names, for one analyzer's {@link PathNames}. */
export function learnedBudget(): LearnedBudget {
  return { left: MAX_LEARNED };
}

function position(): Position {
  return { next: new Map(), any: undefined, families: undefined };
}

/** A word followed by a number (`sku16` → `sku`, `order-77` → `order-`): the word; else undefined. */
function familyOf(segment: string): string | undefined {
  const m = FAMILY.exec(segment);
  return m === null ? undefined : m[1];
}

const FAMILY = /^([A-Za-z][A-Za-z_-]*)\d+$/;

/** Counts `segment`, new at `at`, in its family: true once the family has {@link FAMILY_AFTER} members. */
function familyFull(at: Position, segment: string): boolean {
  const family = familyOf(segment);
  if (family === undefined) return false;
  const n = (at.families?.get(family) ?? 0) + 1;
  (at.families ??= new Map()).set(family, n);
  return n >= FAMILY_AFTER;
}

/**
 * The operation names of one owner's route-less paths (a service's requests, or the calls to one peer):
 * `METHOD /path` with a position folded to `:id` once it has had more than {@link VARYING_AFTER} distinct
 * segments, and at most {@link MAX_PATH_OPERATIONS} names (later paths get none).
 */
export class PathNames {
  private readonly roots = new Map<string, Position>();
  /**
   * Operation → its name while no position on its path has turned to `:id` since; only paths through fixed
   * positions (a path through `:id` is one of unboundedly many), at most {@link MAX_PATH_OPERATIONS} × 4.
   */
  private readonly named = new Map<string, string>();
  private readonly admitted = new Set<string>();

  constructor(private readonly budget: LearnedBudget) {}

  /** The name of `operation` (`METHOD /path`, as `foldPath` left it), or undefined past the owner's names. */
  name(operation: string): string | undefined {
    const known = this.named.get(operation);
    if (known !== undefined) return known;
    const name = this.learn(operation);
    if (!this.admitted.has(name)) {
      if (this.admitted.size >= MAX_PATH_OPERATIONS) return undefined;
      this.admitted.add(name);
    }
    // A name that differs went through a position that varies: one of unboundedly many paths, not kept.
    if (name === operation && this.named.size < MAX_PATH_OPERATIONS * 4 && this.budget.left > 0) {
      this.named.set(operation, name);
      this.budget.left--;
    }
    return name;
  }

  /** Walks (and extends) the positions of `operation`'s path, folding those that vary. */
  private learn(operation: string): string {
    const parts = operation.split('/');
    // parts[0] is `METHOD ` (a path starts with /).
    let at = this.roots.get(parts[0]);
    if (at === undefined) {
      if (this.budget.left <= 0) return operation;
      this.roots.set(parts[0], (at = position()));
      this.budget.left--;
    }
    let name = parts[0];
    for (let i = 1; i < parts.length; i++) {
      let segment = parts[i];
      let to: Position | undefined;
      if (at.next === undefined) {
        segment = ':id';
        to = at.any;
      } else {
        to = at.next.get(segment);
        if (to === undefined && segment !== '' && (at.next.size >= VARYING_AFTER || familyFull(at, segment))) {
          at.next = undefined;
          at.families = undefined;
          at.any = to = position();
          segment = ':id';
          // Names given before no longer stand: their paths now fold here too.
          this.budget.left += this.named.size;
          this.named.clear();
        } else if (to === undefined && this.budget.left > 0) {
          at.next.set(segment, (to = position()));
          this.budget.left--;
        }
      }
      name += `/${segment}`;
      if (to === undefined) return name + (i + 1 < parts.length ? `/${parts.slice(i + 1).join('/')}` : '');
      at = to;
    }
    return name;
  }
}
