package io.pivotpool.distributed;

import java.util.List;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.AppenderBase;
import org.slf4j.LoggerFactory;

/** Records what one class logs, for tests that assert a log line. */
final class LogCapture implements AutoCloseable {

    private final Logger logger;

    /** Background threads log while a test reads, so events go to a concurrent queue. */
    private final Queue<ILoggingEvent> events = new ConcurrentLinkedQueue<>();

    private final AppenderBase<ILoggingEvent> appender = new AppenderBase<>() {

        @Override
        protected void append(ILoggingEvent event) {
            LogCapture.this.events.add(event);
        }
    };

    private final Level previousLevel;

    /** Captures everything {@code source} logs at INFO and above, whatever the configured level. */
    LogCapture(Class<?> source) {
        this.logger = (Logger) LoggerFactory.getLogger(source);
        this.previousLevel = this.logger.getLevel();
        this.logger.setLevel(Level.INFO);
        this.appender.start();
        this.logger.addAppender(this.appender);
    }

    /** The formatted messages logged at {@code level}. */
    List<String> messages(Level level) {
        return this.events.stream()
            .filter(event -> event.getLevel() == level)
            .map(ILoggingEvent::getFormattedMessage)
            .toList();
    }

    /** Everything logged, at any level, formatted. */
    List<String> all() {
        return this.events.stream().map(ILoggingEvent::getFormattedMessage).toList();
    }

    @Override
    public void close() {
        this.logger.detachAppender(this.appender);
        this.logger.setLevel(this.previousLevel);
        this.appender.stop();
    }
}
