"""The one prompt format. Training builds its examples with it and the bot serves with it.

A tiny system line (who is speaking), the facts block (the stat card exactly as retrieval returns
it, with the patch id), and the question. No style rules and no example dialogue: the voice lives
in the adapter's weights.
"""

from __future__ import annotations

from characters.world import Character, Faction

Message = dict[str, str]


def system_line(character: Character, faction: Faction) -> str:
    """Who is speaking: name, faction and role."""
    return f"You are {character.name}, {faction.name} {character.role}."


def build_messages(
    character: Character, faction: Faction, facts: str, question: str
) -> list[Message]:
    """Chat messages for one question: system line, then facts and question as the user turn."""
    user = f"Facts:\n{facts.strip()}\n\nQuestion: {question.strip()}"
    return [
        {"role": "system", "content": system_line(character, faction)},
        {"role": "user", "content": user},
    ]


def build_chat_messages(
    character: Character, faction: Faction, facts: str, question: str, answer: str
) -> list[Message]:
    """A full training conversation: the prompt plus the assistant's answer."""
    return [
        *build_messages(character, faction, facts, question),
        {"role": "assistant", "content": answer},
    ]
