"""Training loops: the GANs, the encoders and the classifiers, each a resumable run
(:mod:`ganinv.train.run`); the classifiers share one loop (:mod:`ganinv.train.classifier`)."""
