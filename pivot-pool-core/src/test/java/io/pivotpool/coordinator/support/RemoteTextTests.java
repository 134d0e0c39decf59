package io.pivotpool.coordinator.support;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class RemoteTextTests {

    @Test
    void controlCharactersAndLineSeparatorsAreEscaped() {
        assertThat(RemoteText.escape("a\nb\r\tc\u0000\u001b[31m\u0085\u2028\u2029"))
            .isEqualTo("a\\nb\\r\\tc\\u0000\\u001b[31m\\u0085\\u2028\\u2029");
    }

    @Test
    void bidirectionalTextControlsAreEscapedSoThatALogLineReadsAsItIs() {
        // "pool 'x' <RLO>txt.exe" would show reversed after the override.
        assertThat(RemoteText.escape("x\u202etxt.exe")).isEqualTo("x\\u202etxt.exe");
        for (char c : new char[] { '\u202a', '\u202b', '\u202c', '\u202d', '\u202e', '\u2066', '\u2067', '\u2068',
                '\u2069', '\u200e', '\u200f', '\u061c' }) {
            assertThat(RemoteText.escapeControls("a" + c + "b")).isEqualTo("a" + String.format("\\u%04x", (int) c) + "b");
        }
    }

    @Test
    void ordinaryTextIsKeptAsItIs() {
        String text = "Grüße, 日本語, עברית and العربية without controls";
        assertThat(RemoteText.escapeControls(text)).isSameAs(text);
    }

    @Test
    void longTextIsShortenedAndTheRestCounted() {
        assertThat(RemoteText.escape("x".repeat(300))).isEqualTo("x".repeat(256) + "...(44 more chars)");
    }
}
