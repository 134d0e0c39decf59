package io.pivotpool.autoconfigure;

import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.springframework.aot.hint.RuntimeHints;
import org.springframework.aot.hint.predicate.RuntimeHintsPredicates;
import org.springframework.context.annotation.ImportRuntimeHints;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The hints a native image needs: every field the pool engine reaches through a {@code VarHandle}
 * is registered. The list of such fields is taken from the engine's own classes (every
 * {@code static final VarHandle} names one), so that a new one without a hint fails here.
 */
class PivotPoolRuntimeHintsTests {

    private final RuntimeHints hints = new RuntimeHints();

    @Test
    void theAutoConfigurationImportsTheHints() {
        assertThat(PivotPoolAutoConfiguration.class.getAnnotation(ImportRuntimeHints.class).value())
            .containsExactly(PivotPoolRuntimeHints.class);
    }

    @Test
    void everyFieldTheEngineReachesThroughAVarHandleIsRegistered() throws Exception {
        new PivotPoolRuntimeHints().registerHints(this.hints, getClass().getClassLoader());
        List<Field> fields = new ArrayList<>();
        fields.add(Class.forName("io.pivotpool.pool.PoolEngine").getDeclaredField("counts"));
        fields.add(Class.forName("io.pivotpool.pool.PoolEngine").getDeclaredField("attention"));
        fields.add(Class.forName("io.pivotpool.pool.SlotHotFields").getDeclaredField("state"));
        fields.add(Class.forName("io.pivotpool.pool.SlotHotFields").getDeclaredField("borrows"));
        fields.add(Class.forName("io.pivotpool.pool.Waiter").getDeclaredField("state"));
        for (Field field : fields) {
            assertThat(RuntimeHintsPredicates.reflection().onFieldAccess(field)).as("hint for %s", field)
                .accepts(this.hints);
        }
        assertThat(varHandleCount("io.pivotpool.pool.PoolEngine") + varHandleCount("io.pivotpool.pool.Slot")
                + varHandleCount("io.pivotpool.pool.Waiter"))
            .as("VarHandles in the engine: one hinted field each").isEqualTo(fields.size());
    }

    private static long varHandleCount(String className) throws ClassNotFoundException {
        long count = 0;
        for (Field field : Class.forName(className).getDeclaredFields()) {
            if (field.getType() == java.lang.invoke.VarHandle.class && Modifier.isStatic(field.getModifiers())) {
                count++;
            }
        }
        return count;
    }
}
