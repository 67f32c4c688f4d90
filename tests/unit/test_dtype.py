import pytest
import torch

from langneurons.errors import ConfigError
from langneurons.models.handle import resolve_dtype


@pytest.mark.parametrize(
    ("capabilities", "expected"),
    [
        ({"avx512_bf16": True, "amx_bf16": False}, torch.bfloat16),
        ({"avx512_bf16": False, "amx_bf16": True}, torch.bfloat16),
        ({"avx512_bf16": False, "amx_bf16": False, "avx512_f": True}, torch.float32),
        ({}, torch.float32),
    ],
)
def test_auto_is_bfloat16_exactly_where_the_cpu_computes_it_natively(
    monkeypatch, capabilities, expected
):
    monkeypatch.setattr(torch.cpu, "get_capabilities", lambda: capabilities, raising=False)
    dtype, why = resolve_dtype("auto", use_cuda=False)
    assert dtype == expected
    assert why.startswith(f"auto: {str(expected).removeprefix('torch.')}")


def test_auto_on_cuda_and_explicit_dtypes_say_why(monkeypatch):
    monkeypatch.setattr(torch.cpu, "get_capabilities", lambda: {}, raising=False)
    assert resolve_dtype("auto", use_cuda=True) == (torch.bfloat16, "auto: bfloat16 on CUDA")
    assert resolve_dtype("float32", use_cuda=False) == (torch.float32, "float32 (asked for)")
    assert resolve_dtype("bfloat16", use_cuda=False)[0] == torch.bfloat16


def test_an_unknown_dtype_is_a_one_line_error():
    with pytest.raises(ConfigError, match="--dtype int8 is not one of auto, float32"):
        resolve_dtype("int8", use_cuda=False)  # type: ignore[arg-type]


def test_the_installed_torch_reports_the_features_auto_reads():
    found = torch.cpu.get_capabilities()
    assert isinstance(found["avx512_bf16"], bool) and isinstance(found["amx_bf16"], bool)


def test_without_get_capabilities_the_older_probes_decide(monkeypatch):
    monkeypatch.delattr(torch.cpu, "get_capabilities", raising=False)
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: True, raising=False)
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: False, raising=False)
    assert resolve_dtype("auto", use_cuda=False)[0] == torch.bfloat16
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: False, raising=False)
    assert resolve_dtype("auto", use_cuda=False)[0] == torch.float32
