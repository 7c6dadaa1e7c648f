"""The generation tests' models, loaded once for the package: two random LoRA adapters, peft's
reference model holding both, and a generator on each engine (torch, llama.cpp, native)."""

from __future__ import annotations

import pytest

from tests.generation.common import TARGETS


@pytest.fixture(scope="package", autouse=True)
def one_thread():
    """One torch thread: on a shared, busy CPU two threads wait on each other many times over."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="package")
def adapters_dir(tmp_path_factory):
    """Two random LoRA adapters, `orcish` and `elvish`, saved the way peft saves them."""
    import torch
    from peft import LoraConfig, get_peft_model

    from training.base_model import load_base_model

    folder = tmp_path_factory.mktemp("adapters")
    model, _ = load_base_model(dtype=torch.float32)
    torch.manual_seed(0)
    config = LoraConfig(r=16, lora_alpha=32, target_modules=TARGETS, init_lora_weights=False)
    peft_model = get_peft_model(model, config, adapter_name="orcish")
    peft_model.add_adapter("elvish", config)
    peft_model.save_pretrained(str(folder))
    return folder


@pytest.fixture(scope="package")
def reference(adapters_dir):
    """A peft model holding both adapters, for `generate` references."""
    import torch
    from peft import PeftModel

    from training.base_model import load_base_model

    model, tokenizer = load_base_model(dtype=torch.float32)
    peft_model = PeftModel.from_pretrained(model, str(adapters_dir / "orcish"), "orcish")
    peft_model.load_adapter(str(adapters_dir / "elvish"), "elvish")
    peft_model.eval()
    return peft_model, tokenizer, {}


@pytest.fixture(scope="package")
def torch_generator(adapters_dir):
    import torch

    from bot.generation.local import LocalGenerator

    gen = LocalGenerator(adapters_dir=adapters_dir, dtype=torch.float32, max_queue=8,
                         engine="torch")
    yield gen
    gen.close()


@pytest.fixture(scope="package")
def llama_generator(adapters_dir):
    from bot.generation.local import LocalGenerator

    # the seeded random adapters are converted once into the model cache, named by their hash
    gen = LocalGenerator(adapters_dir=adapters_dir, max_queue=8, engine="llama.cpp")
    yield gen
    gen.close()


@pytest.fixture(scope="package")
def native_generator(adapters_dir):
    from bot.generation.local import LocalGenerator

    gen = LocalGenerator(adapters_dir=adapters_dir, max_queue=8, engine="native")
    yield gen
    gen.close()


FIXTURES = {"torch": "torch_generator", "llama.cpp": "llama_generator",
            "native": "native_generator"}


@pytest.fixture(scope="package", params=list(FIXTURES))
def generator(request):
    return request.getfixturevalue(FIXTURES[request.param])


@pytest.fixture(scope="package", params=["llama.cpp", "native"])
def quantized_generator(request):
    """The engines that run the shipped GGUF's 4-bit weights."""
    return request.getfixturevalue(FIXTURES[request.param])

