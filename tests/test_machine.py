"""The CPU description printed beside every speed figure."""

from general_tools.machine import describe_cpu

XEON = """processor	: 0
vendor_id	: GenuineIntel
cpu family	: 6
model		: 143
model name	: Intel(R) Xeon(R) Platinum 8481C CPU @ 2.70GHz
flags		: fpu sse2 avx2 avx512f avx512_vnni amx_bf16 amx_tile

processor	: 1
model name	: Something else
"""

EPYC = """processor	: 0
cpu family	: 23
model		: 49
model name	: AMD EPYC 7B12
flags		: fpu sse2 avx avx2 fma
"""


def test_names_model_family_and_extensions():
    text = describe_cpu(XEON)
    assert text.startswith("Intel(R) Xeon(R) Platinum 8481C CPU @ 2.70GHz "
                           "(family 6, model 143; AVX2, AVX-512, AMX), ")
    assert text.endswith(" cores")
    assert describe_cpu(EPYC).startswith(
        "AMD EPYC 7B12 (family 23, model 49; AVX2), ")


def test_this_machine_and_missing_info():
    assert describe_cpu().endswith(" cores")
    assert describe_cpu("").endswith(" cores")
