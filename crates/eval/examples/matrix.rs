use timbre_eval::data::recordings;
use timbre_eval::evaluate::*;
use timbre_eval::mfcc::TimbreStats;
fn main() {
    let ds = std::path::Path::new("target/datasets");
    let names = ["violin", "trumpet", "flute", "cello", "saxophone"];
    let mut stats = Vec::new();
    for n in names {
        let recs = recordings(ds, n).unwrap();
        let clips: Vec<Vec<f32>> = recs
            .iter()
            .map(|r| to_16k(&r.samples, r.sample_rate).unwrap())
            .collect();
        stats.push(TimbreStats::of_clips(clips.iter().map(|c| c.as_slice())).unwrap());
    }
    for (i, a) in stats.iter().enumerate() {
        print!("{:10}", names[i]);
        for b in &stats {
            print!(" {:6.1}", a.distance(b));
        }
        println!(
            "   mean {:?}",
            a.mean
                .iter()
                .map(|v| (v * 10.0).round() / 10.0)
                .collect::<Vec<_>>()
        );
    }
    // trumpet model resynthesis of its held-out and train recordings
    for m in ["trumpet", "violin"] {
        let (model, _) = timbre_catalog::resolve(m).unwrap();
        let recs = recordings(ds, m).unwrap();
        let outs: Vec<Vec<f32>> = recs
            .iter()
            .map(|r| resynthesize(&model, r).unwrap().1)
            .collect();
        let s = TimbreStats::of_clips(outs.iter().map(|c| c.as_slice())).unwrap();
        print!("{m} resynth:");
        for b in &stats {
            print!(" {:6.1}", s.distance(b));
        }
        println!(
            "   mean {:?}",
            s.mean
                .iter()
                .map(|v| (v * 10.0).round() / 10.0)
                .collect::<Vec<_>>()
        );
    }
}
