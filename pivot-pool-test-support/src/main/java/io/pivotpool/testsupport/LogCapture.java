package io.pivotpool.testsupport;

import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.stream.Collectors;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.IThrowableProxy;
import ch.qos.logback.core.AppenderBase;
import org.jspecify.annotations.Nullable;
import org.slf4j.LoggerFactory;

/**
 * Records log events while open, for tests that assert what was (and was not) logged: a warning
 * logged once, a secret never logged, no control character from remote data in a log line.
 *
 * <pre>{@code
 * try (LogCapture log = LogCapture.of(CoordinatorSelection.class)) {
 *     ...
 *     assertThat(log.messages(Level.WARN)).singleElement().asString().contains("falls back");
 * }
 * }</pre>
 *
 * Background threads log while a test reads, so events go to a concurrent queue. Needs Logback as
 * the SLF4J binding (this artifact brings it).
 */
public final class LogCapture implements AutoCloseable {

    private final Logger logger;

    /** The logger's own level before, null when it inherited one (as it will again). */
    private final @Nullable Level previousLevel;

    private final Queue<ILoggingEvent> events = new ConcurrentLinkedQueue<>();

    private final AppenderBase<ILoggingEvent> appender = new AppenderBase<>() {

        @Override
        protected void append(ILoggingEvent event) {
            LogCapture.this.events.add(event);
        }
    };

    /** Loggers raised by {@link #withDebug(String)}, with the levels to restore. */
    private final List<Logger> raised = new ArrayList<>();

    private final List<@Nullable Level> raisedFrom = new ArrayList<>();

    private LogCapture(Logger logger, @Nullable Level level) {
        this.logger = logger;
        this.previousLevel = logger.getLevel();
        if (level != null) {
            logger.setLevel(level);
        }
        this.appender.start();
        logger.addAppender(this.appender);
    }

    /** Everything the JVM logs at the levels its configuration lets through. */
    public static LogCapture everything() {
        return new LogCapture((Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME), null);
    }

    /** What {@code source} logs at INFO and above, whatever the configured level. */
    public static LogCapture of(Class<?> source) {
        return new LogCapture((Logger) LoggerFactory.getLogger(source), Level.INFO);
    }

    /**
     * Records {@code loggerName}'s DEBUG output too until closed, for instance a driver's connection
     * set-up, where a careless one would show credentials. Only with {@link #everything()}.
     */
    public LogCapture withDebug(String loggerName) {
        Logger debug = (Logger) LoggerFactory.getLogger(loggerName);
        this.raised.add(debug);
        this.raisedFrom.add(debug.getLevel());
        debug.setLevel(Level.DEBUG);
        return this;
    }

    /** The formatted messages logged at {@code level} or above. */
    public List<String> messages(Level level) {
        return messages(level, "");
    }

    /** The formatted messages logged at {@code level} or above by loggers whose name starts with {@code prefix}. */
    public List<String> messages(Level level, String prefix) {
        return this.events.stream()
            .filter(event -> event.getLevel().isGreaterOrEqual(level) && event.getLoggerName().startsWith(prefix))
            .map(ILoggingEvent::getFormattedMessage)
            .collect(Collectors.toList());
    }

    /** Everything logged, one line per event: logger, message and the message of every throwable in its chain. */
    public String all() {
        return this.events.stream().map(LogCapture::render).collect(Collectors.joining("\n"));
    }

    /** Forgets what was recorded so far, for a test that asserts on one phase only. */
    public void clear() {
        this.events.clear();
    }

    private static String render(ILoggingEvent event) {
        StringBuilder text = new StringBuilder(event.getLoggerName()).append(' ').append(event.getFormattedMessage());
        for (IThrowableProxy proxy = event.getThrowableProxy(); proxy != null; proxy = proxy.getCause()) {
            text.append(" | ").append(proxy.getClassName()).append(": ").append(proxy.getMessage());
        }
        return text.toString();
    }

    @Override
    public void close() {
        for (int i = this.raised.size() - 1; i >= 0; i--) {
            this.raised.get(i).setLevel(this.raisedFrom.get(i));
        }
        this.logger.detachAppender(this.appender);
        this.logger.setLevel(this.previousLevel);
        this.appender.stop();
    }
}
