"""What the generation tests share: their prompts, the adapters' target modules, and peft's
greedy reference."""

from __future__ import annotations

ORC = [
    {"role": "system", "content": "You are Grukk Ironjaw, Orcish berserker."},
    {"role": "user", "content": "Facts:\nattack: 91\nhealth: 1250\n\nQuestion: How strong?"},
]
ELF = [
    {"role": "system", "content": "You are Lirael, Elvish archer."},
    {"role": "user", "content": "Facts:\nrange: 40\n\nQuestion: Tell me about your bow."},
]
STORY = [{"role": "user", "content": "Tell me a long story about a dragon and a knight."}]
TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


def reference_ids(reference, messages, adapter, max_new_tokens) -> list[int]:
    """Greedy `generate` of the peft model (remembered: it is the slow part of these tests)."""
    import torch

    model, tokenizer, memo = reference
    key = (repr(messages), adapter, max_new_tokens)
    if key in memo:
        return memo[key]
    prompt = tokenizer.apply_chat_template(messages, add_generation_prompt=True, return_dict=False)
    ids = torch.tensor([prompt])
    with torch.inference_mode():
        if adapter is None:
            with model.disable_adapter():
                out = model.generate(input_ids=ids, attention_mask=torch.ones_like(ids),
                                     max_new_tokens=max_new_tokens, do_sample=False)
        else:
            model.set_adapter(adapter)
            out = model.generate(input_ids=ids, attention_mask=torch.ones_like(ids),
                                 max_new_tokens=max_new_tokens, do_sample=False)
    tokens = out[0, len(prompt) :].tolist()
    memo[key] = [t for t in tokens if t != tokenizer.eos_token_id]
    return memo[key]

