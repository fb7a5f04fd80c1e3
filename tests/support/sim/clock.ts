// Simulated time for the system harness. Virtual time runs with real time while work is under way
// (HTTP takes real milliseconds) and jumps forward only when the harness finds nothing to do until
// the next scheduled moment (a visibility timeout expiring, a delayed message, a batching window, a
// handler's timer while every invocation sleeps: sim/timers.ts). So a run covers hours of queue
// behaviour in seconds.

export class VirtualClock {
    private offset: number;

    /** `frozen`: time moves only by `advanceTo` (for tests of the models). */
    constructor(start: number = Date.now(), private readonly frozen = false) {
        this.offset = start - (frozen ? 0 : Date.now());
    }

    public now(): number {
        return (this.frozen ? 0 : Date.now()) + this.offset;
    }

    /** Jumps to `time` (never backwards). */
    public advanceTo(time: number): void {
        const gap = time - this.now();
        if (gap > 0) this.offset += gap;
    }

    public iso(time: number = this.now()): string {
        return new Date(time).toISOString();
    }

    /**
     * A `Date` for code loaded into the simulation: `Date.now()` and `new Date()` read this clock,
     * everything else is the real `Date`.
     */
    public dateClass(): DateConstructor {
        const now = () => this.now();
        class SimDate extends Date {
            constructor(...args: unknown[]) {
                if (args.length === 0) super(now());
                else super(...(args as [string | number | Date]));
            }

            public static override now(): number {
                return now();
            }
        }
        return SimDate as unknown as DateConstructor;
    }
}

/** A small seeded generator (mulberry32), so fault injection repeats exactly for a seed. */
export class Rng {
    private state: number;

    constructor(seed: number) {
        this.state = seed >>> 0;
    }

    /** Uniform in [0, 1). */
    public next(): number {
        this.state = (this.state + 0x6d2b79f5) >>> 0;
        let t = this.state;
        t = Math.imul(t ^ (t >>> 15), t | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    }

    public chance(p: number): boolean {
        return p > 0 && this.next() < p;
    }

    /** Integer in [min, max]. */
    public int(min: number, max: number): number {
        return min + Math.floor(this.next() * (max - min + 1));
    }

    public pick<T>(items: readonly T[]): T {
        return items[Math.floor(this.next() * items.length)];
    }

    public shuffle<T>(items: readonly T[]): T[] {
        const copy = [...items];
        for (let i = copy.length - 1; i > 0; i--) {
            const j = Math.floor(this.next() * (i + 1));
            [copy[i], copy[j]] = [copy[j], copy[i]];
        }
        return copy;
    }
}
