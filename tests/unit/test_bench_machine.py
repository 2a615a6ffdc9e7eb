"""The machine label tells apart CPUs that share a model name but not a speed."""

from benchmarks.harness.machine import _cpu_detail

ZEN1 = (
    "processor\t: 0\nvendor_id\t: AuthenticAMD\ncpu family\t: 23\nmodel\t\t: 1\nmodel name\t: AMD EPYC\n"
    "flags\t\t: fpu sse2 avx fma avx2\n\nprocessor\t: 1\nflags\t: avx512_vnni\n"
)
ZEN4 = "cpu family\t: 25\nmodel\t\t: 17\nmodel name\t: AMD EPYC\nflags\t\t: avx2 avx512f avx512_vnni\n"


def test_the_label_names_the_generation_and_the_best_vector_extension() -> None:
    assert _cpu_detail(ZEN1) == "family 23 model 1, AVX2"
    assert _cpu_detail(ZEN4) == "family 25 model 17, AVX-512 VNNI"


def test_only_the_first_processor_block_is_read() -> None:
    assert "VNNI" not in _cpu_detail(ZEN1)  # the second block's flags are not this machine's first core's


def test_a_cpu_without_avx2_or_without_cpuinfo_says_so_or_nothing() -> None:
    assert _cpu_detail("cpu family\t: 6\nmodel\t\t: 42\nflags\t\t: sse2 avx\n") == "family 6 model 42, no AVX2"
    assert _cpu_detail("") == ""
