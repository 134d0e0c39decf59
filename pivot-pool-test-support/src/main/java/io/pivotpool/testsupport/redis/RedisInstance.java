package io.pivotpool.testsupport.redis;

/** One running Redis behind {@link RedisServer}: a process of this JVM or a container. */
interface RedisInstance extends AutoCloseable {

    String host();

    int port();

    boolean isRunning();

    void pause();

    void resume();

    void kill9();

    void restartOnSamePort();

    @Override
    void close();
}
