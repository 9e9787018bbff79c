"""Deep ensembles of skorch nets: member seeds, one member's fresh fit, the members gathered.

Each member of an ensemble is a fit of its own (own initialisation, shuffling and augmentation
draws); the fitted members are then loaded into one ensemble net whose ``history`` holds their
mean losses (Lakshminarayanan, Pritzel & Blundell 2017, "Simple and scalable predictive
uncertainty estimation using deep ensembles", arXiv:1612.01474).
"""
import numpy as np

from ._callbacks import mean_history

__all__ = ["fit_fresh", "gather_members", "member_seeds"]


def member_seeds(seed, n_members):
    """Seeds of ``n_members`` members: ``seed`` first (member 0 is the fit that a single net
    gives), then independent 31-bit streams spawned from it by :class:`numpy.random.SeedSequence`."""
    spawned = np.random.SeedSequence(seed).generate_state(n_members - 1)
    return [seed] + [int(v) % 2**31 for v in spawned]


def fit_fresh(net, X, y=None, **fit_params):
    """Initialise ``net`` and train it on ``X`` for its ``max_epochs``, as ``net.fit`` does.

    ``net.fit`` initialises once more before training, and skorch announces that second
    initialisation ("Re-initializing module/criterion/optimizer") when verbose; here it is
    silent. Both initialisations draw from the random streams, so fits are bit-identical to
    ``net.initialize(); net.fit(X, y)``.
    """
    net.initialize()
    verbose, net.verbose = net.verbose, 0
    net.initialize()
    net.verbose = verbose
    return net.partial_fit(X, y, **fit_params)


def gather_members(ensemble, members):
    """Load the fitted single nets ``members`` into the initialised ``ensemble`` net (whose
    ``module_.members`` holds one module per member) and give it their mean history."""
    for module, net in zip(ensemble.module_.members, members):
        module.load_state_dict(net.module_.state_dict())
    ensemble.history = mean_history([net.history for net in members])
    return ensemble
