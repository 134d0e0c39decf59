package io.pivotpool.autoconfigure.metrics;

import java.time.Duration;
import java.util.function.Supplier;

import org.jspecify.annotations.Nullable;

/**
 * One reading of an expensive source (a pool's {@code stats()}, which scans every slot; the
 * coordinator's {@code status()}) shared by the meters of one scrape, so that a scrape costs one
 * reading instead of one per meter and its values agree with each other ({@code size} is
 * {@code idle + active} of the same instant).
 *
 * <p>A scrape has no begin or end that a meter could see, so a reading is shared on two
 * conditions: each meter ({@link Reader}) reports it at most once (a meter read a second time is
 * a new scrape, or a second registry, and gets a fresh reading), and it is younger than
 * {@link #MAX_AGE} (so that a meter read alone, long after the others, never reports an old
 * value). Two threads that refresh at once each take a reading and the last one stays: harmless,
 * as either is current. Nothing here runs on the borrow path.
 *
 * @param <T> what is read
 */
final class ScrapeSnapshot<T> {

    /** Longer than any one scrape, shorter than any scrape interval. */
    static final Duration MAX_AGE = Duration.ofSeconds(1);

    private static final long MAX_AGE_NANOS = MAX_AGE.toNanos();

    private final Supplier<T> source;

    private volatile @Nullable Reading<T> current;

    ScrapeSnapshot(Supplier<T> source) {
        this.source = source;
    }

    /** A reader for one meter. */
    Reader reader() {
        return new Reader();
    }

    private record Reading<T>(T value, long takenAt) {
    }

    /** One meter's view: never the same reading twice. */
    final class Reader {

        private volatile @Nullable Reading<T> reported;

        private Reader() {
        }

        T get() {
            Reading<T> reading = ScrapeSnapshot.this.current;
            long now = System.nanoTime();
            if (reading == null || reading == this.reported || now - reading.takenAt() >= MAX_AGE_NANOS) {
                reading = new Reading<>(ScrapeSnapshot.this.source.get(), now);
                ScrapeSnapshot.this.current = reading;
            }
            this.reported = reading;
            return reading.value();
        }
    }
}
