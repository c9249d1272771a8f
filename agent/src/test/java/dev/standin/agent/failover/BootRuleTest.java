package dev.standin.agent.failover;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The boot check's rule, on times given by hand. */
class BootRuleTest {

    private final BootRule rule = new BootRule(Duration.ofMinutes(10), Duration.ofSeconds(20));

    private static BootRule.Seen seen(String failure, String agent, Integer promptAfter, int elapsed) {
        return new BootRule.Seen(Optional.ofNullable(failure), Optional.ofNullable(agent),
                Optional.ofNullable(promptAfter).map(Duration::ofSeconds), Duration.ofSeconds(elapsed));
    }

    @Test
    void nothingYetIsWatchedOn() {
        assertEquals(Optional.empty(), rule.decide(seen(null, null, null, 30)));
    }

    @Test
    void anAgentThatAnswersVerifiesAtOnceEvenBeforeThePrompt() {
        BootRule.Decision d = rule.decide(seen(null, "Debian 12", null, 8)).orElseThrow();
        assertEquals(BootVerdict.VERIFIED, d.verdict());
        assertEquals("the guest agent answers: Debian 12", d.reason());
    }

    @Test
    void aPromptWaitsForAnAgentThenSettlesOnHeuristic() {
        assertEquals(Optional.empty(), rule.decide(seen(null, null, 40, 59)));
        BootRule.Decision d = rule.decide(seen(null, null, 40, 60)).orElseThrow();
        assertEquals(BootVerdict.HEURISTIC, d.verdict());
        assertTrue(d.reason().contains("login prompt after 40 s"), d.reason());
        assertEquals(BootVerdict.VERIFIED, rule.decide(seen(null, "Debian 12", 40, 50)).orElseThrow().verdict());
    }

    @Test
    void aFailureWinsOverEverythingElse() {
        BootRule.Decision d = rule.decide(seen("the guest kernel panicked", "Debian 12", 5, 9)).orElseThrow();
        assertEquals(BootVerdict.FAILED, d.verdict());
        assertEquals("the guest kernel panicked", d.reason());
    }

    @Test
    void theTimeoutFailsAVmThatShowedNothingAndSettlesOneThatShowedAPrompt() {
        BootRule.Decision d = rule.decide(seen(null, null, null, 600)).orElseThrow();
        assertEquals(BootVerdict.FAILED, d.verdict());
        assertEquals("neither a login prompt nor a guest agent in 600 s", d.reason());
        assertEquals(BootVerdict.HEURISTIC, rule.decide(seen(null, null, 595, 600)).orElseThrow().verdict());
    }
}
