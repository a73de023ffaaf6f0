"""Generated run names: adjective-animal-N, as dstack does."""

from random import Random

_ADJECTIVES = (
    "amber", "bold", "brave", "calm", "clever", "cool", "eager", "fancy", "gentle", "happy", "jolly",
    "keen", "lucky", "mighty", "nimble", "proud", "quick", "quiet", "rapid", "shiny", "smart", "sunny",
    "swift", "tidy", "wise", "witty",
)
_ANIMALS = (
    "badger", "bear", "beaver", "bison", "cat", "crab", "crane", "deer", "dolphin", "eagle", "falcon",
    "ferret", "fox", "gecko", "heron", "ibis", "koala", "lemur", "lion", "lynx", "moose", "otter", "owl",
    "panda", "puffin", "seal", "tiger", "turtle", "whale", "wolf", "yak", "zebra",
)


def generate_run_name(random: Random) -> str:
    return f"{random.choice(_ADJECTIVES)}-{random.choice(_ANIMALS)}-{random.randint(1, 99)}"
