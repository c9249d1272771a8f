package dev.standin.snapshot;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class SnapshotSpecTest {

    @Test
    void splitsKindAndArguments() {
        assertEquals(new SnapshotSpec("qemu", List.of("/run/vm.qmp", "drive0")), SnapshotSpec.parse("qemu:/run/vm.qmp:drive0"));
        assertEquals(new SnapshotSpec("file", List.of()), SnapshotSpec.parse("file"));
        assertEquals(new SnapshotSpec("lvm", List.of("vg0/db")), SnapshotSpec.parse("lvm:vg0/db"));
        assertEquals("esxi:esx1:42", SnapshotSpec.parse("esxi:esx1:42").toString());
    }

    @Test
    void resolvesOnlyTheArgumentsThatArePaths() {
        Path cwd = Path.of("/srv/work");
        assertEquals(SnapshotSpec.parse("qemu:/srv/work/vm.qmp:drive0"),
                SnapshotSpec.parse("qemu:vm.qmp:drive0").resolvingPaths(cwd::resolve));
        assertEquals(SnapshotSpec.parse("file:/srv/work/copies"), SnapshotSpec.parse("file:copies").resolvingPaths(cwd::resolve));
        assertEquals(SnapshotSpec.parse("file"), SnapshotSpec.parse("file").resolvingPaths(cwd::resolve));
        assertEquals(SnapshotSpec.parse("script:/srv/work/pre.sh:/opt/post.sh:30"),
                SnapshotSpec.parse("script:pre.sh:/opt/post.sh:30").resolvingPaths(cwd::resolve));
        assertEquals(SnapshotSpec.parse("lvm:vg0/db"), SnapshotSpec.parse("lvm:vg0/db").resolvingPaths(cwd::resolve));
        assertEquals(SnapshotSpec.parse("esxi:esx1:42"), SnapshotSpec.parse("esxi:esx1:42").resolvingPaths(cwd::resolve));
    }

    @Test
    void namesWhatIsWrong() {
        assertTrue(assertThrows(IllegalArgumentException.class, () -> SnapshotSpec.parse("zfs:pool/x")).getMessage()
                .contains("unknown snapshot kind 'zfs'"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> SnapshotSpec.parse("qemu::x")).getMessage()
                .contains("empty argument"));
        SnapshotHooks hooks = new SnapshotHooks(HookContext.of(Path.of("/tmp"), Optional.empty()), Optional.empty());
        assertTrue(assertThrows(IllegalArgumentException.class, () -> hooks.create(SnapshotSpec.parse("qemu:/x")))
                .getMessage().contains("QMP_SOCKET:NODE"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> hooks.create(SnapshotSpec.parse("esxi:h:1")))
                .getMessage().contains("SSH transport"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> hooks.create(SnapshotSpec.parse("script:a:b:0")))
                .getMessage().contains("positive"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> hooks.create(SnapshotSpec.parse("lvm:novg")))
                .getMessage().contains("VG/LV"));
    }
}
