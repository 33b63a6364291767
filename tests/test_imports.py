"""Light imports: dnatok, its k-mer, nucleotide and BPE tokenizers and dnatok.inspection
(on a torch-free model) never load torch."""

import subprocess
import sys

import pytest


@pytest.mark.slow
def test_tokenizers_without_torch():
    code = (
        "import sys\n"
        "import dnatok\n"
        "from dnatok import BPETokenizer, CharTokenizer, KmerTokenizer\n"
        "X = ['ACGTACGTAC', 'GGGTTTAAAC']\n"
        "KmerTokenizer(k=3).fit_transform(X); KmerTokenizer(k=3, output='counts').fit_transform(X)\n"
        "CharTokenizer().fit_transform(X); BPETokenizer(vocab_size=20).fit_transform(X)\n"
        "import dnatok.datasets\n"
        "from dnatok.inspection import find_motifs, in_silico_mutagenesis\n"
        "from sklearn.linear_model import LogisticRegression\n"
        "from sklearn.pipeline import make_pipeline\n"
        "model = make_pipeline(KmerTokenizer(k=2, output='counts'), LogisticRegression()).fit(X, [0, 1])\n"
        "find_motifs(X, in_silico_mutagenesis(model, X).importance)\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
        "from dnatok import MxDNATokenizer\n"
        "assert 'torch' in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
