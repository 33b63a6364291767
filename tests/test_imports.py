"""Light imports: dnatok and its k-mer, nucleotide and BPE tokenizers never load torch."""

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
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
        "from dnatok import MxDNATokenizer\n"
        "assert 'torch' in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
