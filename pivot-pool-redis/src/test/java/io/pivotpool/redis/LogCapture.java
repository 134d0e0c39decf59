package io.pivotpool.redis;

import java.util.List;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.stream.Collectors;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.AppenderBase;
import org.slf4j.LoggerFactory;

/** Records every log event of the JVM while open, to check what was (and was not) logged. */
final class LogCapture implements AutoCloseable {

    private final Logger root = (Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);

    /** Driver threads log while a test reads, so events go to a concurrent queue. */
    private final Queue<ILoggingEvent> events = new ConcurrentLinkedQueue<>();

    private final AppenderBase<ILoggingEvent> appender = new AppenderBase<>() {

        @Override
        protected void append(ILoggingEvent event) {
            LogCapture.this.events.add(event);
        }
    };

    private final Logger driver = (Logger) LoggerFactory.getLogger("io.lettuce");

    private final Level driverLevel = this.driver.getLevel();

    LogCapture() {
        this(false);
    }

    /**
     * @param driverDebug whether to record Lettuce's debug output too (connection set-up, URIs),
     *     where a careless driver would show credentials
     */
    LogCapture(boolean driverDebug) {
        this.appender.start();
        this.root.addAppender(this.appender);
        if (driverDebug) {
            this.driver.setLevel(Level.DEBUG);
        }
    }

    /** Formatted messages (with throwable text) of the events at {@code level} or above. */
    List<String> messages(Level level) {
        return this.events.stream()
            .filter(event -> event.getLevel().isGreaterOrEqual(level))
            .map(LogCapture::render)
            .collect(Collectors.toList());
    }

    /** Everything logged, throwables included, as one text. */
    String all() {
        return String.join("\n", messages(Level.TRACE));
    }

    private static String render(ILoggingEvent event) {
        StringBuilder text = new StringBuilder(event.getLoggerName()).append(' ').append(event.getFormattedMessage());
        for (var proxy = event.getThrowableProxy(); proxy != null; proxy = proxy.getCause()) {
            text.append(" | ").append(proxy.getClassName()).append(": ").append(proxy.getMessage());
        }
        return text.toString();
    }

    @Override
    public void close() {
        this.driver.setLevel(this.driverLevel);
        this.root.detachAppender(this.appender);
        this.appender.stop();
    }
}
