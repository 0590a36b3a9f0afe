"""Torch's process-wide random state: the seeding lock of ``fit`` and the
rewinding of the global generators that affinity measurement needs."""

import threading

import torch

# torch's default generators are process-wide, and weight initialisation,
# dropout, PCGrad's orders and RLW's draws all read them: fits running at the
# same time in threads of one process take turns, so that each sees only its
# own seed (reproducible, and the global state restored for the caller).
_TORCH_RNG_LOCK = threading.RLock()


class fixed_torch_seed:
    """Seed torch inside the block and restore the global RNG state after it,
    holding the process-wide :data:`_TORCH_RNG_LOCK` meanwhile."""

    def __init__(self, seed, device):
        self.seed = seed
        self.device = torch.device(device)

    def __enter__(self):
        _TORCH_RNG_LOCK.acquire()
        try:
            return self._seed()
        except BaseException:
            _TORCH_RNG_LOCK.release()
            raise

    def _seed(self):
        devices = []
        if self.device.type == "cuda":
            index = self.device.index
            devices = [torch.cuda.current_device() if index is None else index]
        self._fork = torch.random.fork_rng(devices=devices)
        self._fork.__enter__()
        torch.random.default_generator.manual_seed(self.seed)
        if self.device.type == "cuda":
            torch.cuda.manual_seed(self.seed)
        return self

    def __exit__(self, *exc):
        try:
            return self._fork.__exit__(*exc)
        finally:
            _TORCH_RNG_LOCK.release()


class rewound_rng:
    """Run a block with the global RNG where it was at ``state``, and leave it
    where it was when the block began.

    The look-ahead forward passes run in training mode, so dropout draws the
    very masks of the step's own forward pass (only the parameters differ
    between the losses compared), and training continues with the random
    numbers it would have drawn without the measurement.
    """

    def __init__(self, state, device):
        self.state = state
        self.device = torch.device(device)

    def __enter__(self):
        self.saved = rng_state(self.device)
        set_rng_state(self.state, self.device)
        return self

    def rewind(self):
        set_rng_state(self.state, self.device)

    def __exit__(self, *exc):
        set_rng_state(self.saved, self.device)
        return False


def rng_state(device):
    """The state of the global generator(s) a forward pass on ``device`` draws from."""
    device = torch.device(device)
    cpu = torch.get_rng_state()
    if device.type == "cuda":
        return cpu, torch.cuda.get_rng_state(device)
    return cpu, None


def set_rng_state(state, device):
    cpu, cuda = state
    torch.set_rng_state(cpu)
    if cuda is not None:
        torch.cuda.set_rng_state(cuda, torch.device(device))
